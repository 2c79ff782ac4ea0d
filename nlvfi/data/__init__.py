"""Training and evaluation data: synthetic flying layers, real video triplets, Vimeo-90K."""
