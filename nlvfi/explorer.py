"""The attention explorer: where one position of the frame pair looks, over both input frames.

Method: METHOD.md §2.2 step 3 (¶0141–0152). The non-local branch concatenates the two frames
(¶0129), reduces them 16x (¶0130) and runs self-attention on that map: every position gets a
weight for every other position, and each row of weights sums to 1 (softmax over keys, public
design SAGAN). A position of that map covers the *same* 16x16 block of both frames at once, so
one row of weights says where the query looks in prev and in next together; we draw it over
each frame, next to the generated frame.

Plain functions first (``run_example``, ``attention_figure``), so a headless run draws the
figure; ``explorer_widget`` wraps them with ipywidgets for JupyterLab.
Notebook: notebooks/09_attention_explorer.ipynb. Tests: tests/test_explorer.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .generator import Generator
from .visualize import attention_row, padded_size, to_image


@dataclass
class Example:
    """One frame pair run through the generator: everything the explorer draws.

    Attributes:
        name: label for titles and the widget's dropdown.
        prev, next: input frames (1, 3, H, W) in [0, 1].
        frame: the generated middle frame (1, 3, H, W).
        attention: self-attention weights (N, N), N = (H'/stride) * (W'/stride); row n is
            where position n looks and sums to 1.
        padded: (H', W'), the input size rounded up to the model stride (the size the
            attention was computed on).
        stride: side in pixels of one attention cell, 2 ** nonlocal_down_groups (16).
        middle: the true middle frame (1, 3, H, W), or None when unknown.
        motion: a label such as ``"small"`` / ``"large"``, or ``""``.
        t: the time the frame was generated at (0 = prev, 1 = next).
    """

    name: str
    prev: torch.Tensor
    next: torch.Tensor
    frame: torch.Tensor
    attention: torch.Tensor
    padded: tuple[int, int]
    stride: int
    middle: torch.Tensor | None = None
    motion: str = ""
    t: float = 0.5

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of the frames."""
        return tuple(self.prev.shape[-2:])

    @property
    def grid(self) -> tuple[int, int]:
        """(h, w) of the attention map: (H'/stride, W'/stride)."""
        return self.padded[0] // self.stride, self.padded[1] // self.stride


def run_example(
    generator: Generator,
    prev: torch.Tensor,
    next: torch.Tensor,
    name: str = "pair",
    middle: torch.Tensor | None = None,
    t: float = 0.5,
    motion: str = "",
) -> Example:
    """Run ``generator`` once on one pair (1, 3, H, W), keeping the attention weights.

    The generator runs in eval mode without gradients; its training flag is restored after.
    """
    if prev.dim() != 4 or prev.shape[0] != 1:
        raise ValueError(f"run_example takes one pair of shape (1, 3, H, W), got prev {tuple(prev.shape)}")
    was_training = generator.training
    generator.eval()
    try:
        with torch.inference_mode():
            out = generator(prev, next, t=t, return_intermediates=True)
    finally:
        generator.train(was_training)
    config = generator.config
    stride = 2**config.nonlocal_down_groups
    padded = padded_size(*prev.shape[-2:], config.stride)
    attention = out.attention[0].float().cpu()  # (N, N)
    n = (padded[0] // stride) * (padded[1] // stride)
    assert attention.shape == (n, n), f"attention {tuple(attention.shape)} is not ({n}, {n})"
    return Example(
        name=name,
        prev=prev.detach().cpu(),
        next=next.detach().cpu(),
        frame=out.frame.detach().float().cpu(),
        attention=attention,
        padded=padded,
        stride=stride,
        middle=None if middle is None else middle.detach().cpu(),
        motion=motion,
        t=float(t),
    )


def synthetic_examples(
    generator: Generator,
    motions: tuple[str, ...] = ("small", "large"),
    count: int = 2,
    size: int = 128,
    seed: int = 0,
) -> dict[str, list[Example]]:
    """``count`` flying-layers triplets per motion bucket, each run through ``generator``.

    Returns {motion: [Example, ...]}; names give the measured motion (mean |flow|, px).
    """
    from .data.synthetic import FlyingLayers

    device = next(generator.parameters()).device
    examples: dict[str, list[Example]] = {}
    for motion in motions:
        dataset = FlyingLayers(count, motion=motion, size=(size, size), seed=seed)
        examples[motion] = []
        for i in range(count):
            item = dataset[i]
            prev, middle, nxt = (item[k].unsqueeze(0).to(device) for k in ("prev", "middle", "next"))
            name = f"{motion} #{i} ({float(item['motion']):.1f} px mean motion)"
            examples[motion].append(run_example(generator, prev, nxt, name=name, middle=middle, motion=motion))
    return examples


def check_query(example: Example, query_yx: tuple[int, int]) -> tuple[int, int]:
    """(y, x) as ints, or ValueError when the pixel is outside the (unpadded) frame."""
    height, width = example.size
    y, x = (int(v) for v in query_yx)
    if not (0 <= y < height and 0 <= x < width):
        raise ValueError(
            f"query (y={y}, x={x}) is outside the {height}x{width} frame; use 0 <= y < {height}, 0 <= x < {width}"
        )
    return y, x


def attention_map(example: Example, query_yx: tuple[int, int]) -> np.ndarray:
    """Where the query pixel's attention cell looks: (h, w) weights summing to 1."""
    y, x = check_query(example, query_yx)
    return attention_row(example.attention, (y, x), example.padded, example.stride)


def attended_distance(example: Example, query_yx: tuple[int, int]) -> float:
    """Attention-weighted mean distance (px) from the query to the centres of the cells it
    attends to: how *non-local* that position's look is (a 3x3 conv sees about 1 px)."""
    y, x = check_query(example, query_yx)
    weights = attention_map(example, (y, x))  # (h, w)
    h, w = weights.shape
    centres_y = (np.arange(h) + 0.5) * example.stride  # (h,)
    centres_x = (np.arange(w) + 0.5) * example.stride  # (w,)
    distance = np.hypot(centres_y[:, None] - y, centres_x[None, :] - x)  # (h, w)
    return float((weights * distance).sum() / weights.sum())


def attention_figure(example: Example, query_yx: tuple[int, int], dpi: int = 80, width: float = 12.0):
    """One row of three panels: prev and next with the query's attention over them, and the
    generated frame with the query marked; a colour bar for the weights.

    The attention map is drawn at its own resolution (one square per 16x16 cell, over the
    padded frame), so the array shown is exactly the row of weights and sums to 1. Low weights
    fade to transparent; the colour scale tops out at max(weights.max(), 5/N).
    Returns the matplotlib Figure (axes 0–2 are the panels, axis 3 the colour bar).
    Raises ValueError when ``query_yx`` is outside the frame.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Rectangle

    y, x = check_query(example, query_yx)
    weights = attention_map(example, (y, x))  # (h, w), sums to 1
    height, width_px = example.size
    pad_h, pad_w = example.padded
    h, w = weights.shape
    cell_y, cell_x = min(y // example.stride, h - 1), min(x // example.stride, w - 1)
    distance = attended_distance(example, (y, x))

    # colour = weight, and transparent where the weight is small, so the frames stay readable;
    # the top of the scale is at least 5x the uniform weight 1/N, so a near-uniform row looks faint
    colours = plt.get_cmap("inferno")(np.linspace(0.0, 1.0, 256))  # (256, 4) RGBA
    colours[:, 3] = np.linspace(0.0, 0.9, 256)
    overlay_cmap = ListedColormap(colours, name="inferno_fading")
    top = max(float(weights.max()), 5.0 / weights.size)

    fig, axes = plt.subplots(1, 3, figsize=(width, width / 3 * pad_h / pad_w + 1.3), dpi=dpi, layout="constrained")
    panels = (
        ("prev (t = 0) + attention", example.prev, True),
        ("next (t = 1) + attention", example.next, True),
        (f"generated frame (t = {example.t:g})", example.frame, False),
    )
    shown = None
    for ax, (title, image, overlay) in zip(axes, panels):
        ax.imshow(to_image(image), extent=(0, width_px, height, 0))
        if overlay:
            shown = ax.imshow(
                weights, extent=(0, pad_w, pad_h, 0), cmap=overlay_cmap, vmin=0.0, vmax=top, interpolation="nearest"
            )
        ax.add_patch(
            Rectangle((cell_x * example.stride, cell_y * example.stride), example.stride, example.stride,
                      fill=False, edgecolor="cyan", linewidth=1.5)
        )  # fmt: skip
        ax.plot(x, y, "+", color="cyan", markersize=12, markeredgewidth=2)
        ax.set_xlim(0, pad_w)
        ax.set_ylim(pad_h, 0)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("x (px)")
    axes[0].set_ylabel("y (px)")
    bar = fig.colorbar(shown, ax=list(axes), fraction=0.02, pad=0.01)
    bar.set_label("attention weight (the map sums to 1)")
    fig.suptitle(
        f"{example.name}: query (y={y}, x={x}), cell ({cell_y}, {cell_x}) of the {h}x{w} attention grid\n"
        f"max weight {weights.max():.4f} (uniform 1/N = {1 / weights.size:.4f}), "
        f"mean attended distance {distance:.0f} px",
        fontsize=10,
    )
    return fig


def explorer_widget(examples: dict[str, list[Example]], query_yx: tuple[int, int] | None = None, dpi: int = 72):
    """ipywidgets around ``attention_figure``: a toggle for the motion bucket, a dropdown for
    the example, sliders for the query's x and y. Returns the widget (display it).

    Args:
        examples: {motion: [Example, ...]}, e.g. from ``synthetic_examples``.
        query_yx: the starting query (default: the centre of the first example).
    """
    try:
        import ipywidgets as widgets
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("the explorer widget needs ipywidgets: pip install ipywidgets") from error
    import matplotlib.pyplot as plt
    from IPython.display import display

    if not examples or not all(examples.values()):
        raise ValueError("examples must map each motion label to a non-empty list of Examples")
    motions = list(examples)
    first = examples[motions[0]][0]
    height, width = first.size
    start_y, start_x = check_query(first, query_yx) if query_yx is not None else (height // 2, width // 2)

    motion = widgets.ToggleButtons(options=motions, value=motions[0], description="motion")
    choice = widgets.Dropdown(
        options=[(ex.name, i) for i, ex in enumerate(examples[motions[0]])], value=0, description="example",
        layout=widgets.Layout(width="420px"),
    )  # fmt: skip
    query_x = widgets.IntSlider(value=start_x, min=0, max=width - 1, description="query x", continuous_update=False)
    query_y = widgets.IntSlider(value=start_y, min=0, max=height - 1, description="query y", continuous_update=False)

    def current() -> Example:
        chosen = examples[motion.value]
        return chosen[min(int(choice.value or 0), len(chosen) - 1)]

    def on_motion(_change) -> None:
        choice.options = [(ex.name, i) for i, ex in enumerate(examples[motion.value])]
        choice.value = 0

    def fit_sliders(_change=None) -> None:
        h, w = current().size  # examples of different sizes: keep the sliders inside the frame
        query_x.max, query_y.max = w - 1, h - 1

    def draw(motion_label, index, x, y) -> None:
        example = current()
        h, w = example.size
        fig = attention_figure(example, (min(y, h - 1), min(x, w - 1)), dpi=dpi)
        display(fig)
        plt.close(fig)

    motion.observe(on_motion, names="value")
    choice.observe(fit_sliders, names="value")
    output = widgets.interactive_output(draw, {"motion_label": motion, "index": choice, "x": query_x, "y": query_y})
    controls = widgets.VBox([widgets.HBox([motion, choice]), widgets.HBox([query_x, query_y])])
    return widgets.VBox([controls, output])
