"""Losses: Charbonnier pixel loss and the relativistic average GAN losses.

Method: METHOD.md §3. Pixel loss (¶0202): rho(x) = sqrt(x^2 + eps^2), eps = 1e-6.
Generator loss (¶0205): L_G = L_c + lambda · L_a.
Adversarial loss (¶0212), relativistic average GAN as in ESRGAN, with C the raw
discriminator score and D_Ra(a, b) = sigmoid(C(a) - mean_batch C(b)):

    L_a   = ½ [ -log(1 - D_Ra(real, fake)) - log(D_Ra(fake, real)) ]   (generator)
    L_D   = ½ [ -log(D_Ra(real, fake)) - log(1 - D_Ra(fake, real)) ]   (discriminator)

each term averaged over the batch. The ½ (ESRGAN's form) makes L_a half of METHOD.md's
sum; the weight lambda = 5e-3 of the public design is meant for this form.
Notebook: notebooks/07_losses_and_ragan.ipynb
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def charbonnier(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-6, reduction: str = "mean") -> torch.Tensor:
    """Charbonnier loss sqrt((pred - target)^2 + eps^2), averaged (or summed) over all elements."""
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    rho = torch.sqrt((pred - target) ** 2 + eps**2)
    if reduction == "mean":
        return rho.mean()
    if reduction == "sum":
        return rho.sum()
    raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")


def _relativistic_logits(c_real: torch.Tensor, c_fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """C(real) - mean C(fake), C(fake) - mean C(real): the logits of D_Ra."""
    return c_real - c_fake.mean(), c_fake - c_real.mean()


def ragan_generator_loss(c_real: torch.Tensor, c_fake: torch.Tensor) -> torch.Tensor:
    """Generator's relativistic average loss L_a: fakes should look more real than reals."""
    real_vs_fake, fake_vs_real = _relativistic_logits(c_real, c_fake)
    return 0.5 * (
        F.binary_cross_entropy_with_logits(real_vs_fake, torch.zeros_like(real_vs_fake))
        + F.binary_cross_entropy_with_logits(fake_vs_real, torch.ones_like(fake_vs_real))
    )


def ragan_discriminator_loss(c_real: torch.Tensor, c_fake: torch.Tensor) -> torch.Tensor:
    """Discriminator's relativistic average loss: the mirror image of the generator's."""
    real_vs_fake, fake_vs_real = _relativistic_logits(c_real, c_fake)
    return 0.5 * (
        F.binary_cross_entropy_with_logits(real_vs_fake, torch.ones_like(real_vs_fake))
        + F.binary_cross_entropy_with_logits(fake_vs_real, torch.zeros_like(fake_vs_real))
    )


def generator_loss(
    pred: torch.Tensor, target: torch.Tensor, c_real: torch.Tensor, c_fake: torch.Tensor, adversarial_weight: float
) -> torch.Tensor:
    """L_G = L_c + lambda · L_a (¶0205)."""
    return charbonnier(pred, target) + adversarial_weight * ragan_generator_loss(c_real, c_fake)


def scale_invariant_log_depth(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eigen et al.'s scale-invariant log-depth loss (optional depth supervision on synthetic
    scenes): mean(d^2) - mean(d)^2 with d = log pred - log target, per image, then averaged.
    Depth is only known up to scale, so a global factor costs nothing."""
    d = torch.log(pred) - torch.log(target)  # (B, 1, H, W)
    return (d.pow(2).mean(dim=(1, 2, 3)) - d.mean(dim=(1, 2, 3)).pow(2)).mean()


def end_point_error(flow: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean Euclidean distance between two flows (B, 2, H, W), in pixels.

    ``weights`` (B,) selects which images count (e.g. only those with known flow)."""
    distance = ((flow - target).pow(2).sum(1) + 1e-8).sqrt()  # (B, H, W)
    if weights is None:
        return distance.mean()
    per_image = distance.mean(dim=(1, 2))  # (B,)
    return (per_image * weights).sum() / weights.sum().clamp(min=1e-8)
