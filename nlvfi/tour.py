"""The main job until the repair tool lands: the whole pipeline on one real frame pair.

Runs the generator on the bundled triplet (``data/tour``: frames k-2, k, k+2 of OpenCV's
vtest.avi), keeps every intermediate, and saves one figure of all of them (flows, projected
flows, depths, kernels, warped frames, non-local features, an attention row, the result)
plus a JSON of the measured numbers. With untrained weights the result is *not* a good frame
yet: the figure says so in its title.

    nlvfi tour [--size tiny] [--checkpoint C] [--out out/tour] [--device auto]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import visualize
from .metrics import psnr
from .checkpoint import atomic_write, load_generator
from .generator import build_generator
from .io import read_frame, write_frame

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "tour"


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """The torch device of ``--device``: ``auto`` -> CUDA when present, else CPU; cpu, cuda,
    cuda:N or mps when this machine has it; else a one-line ValueError.

    Why check here, before a checkpoint is read: torch names devices it cannot compute on
    (``meta`` holds shapes only; ``hip``, ``xla``, ``xpu``, ... need builds this package is not
    made for), and loading the weights there failed with an error that blamed the checkpoint
    (``... is corrupt: device meta is invalid``) or came from deep in the model.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    accepted = "auto, cpu, cuda, cuda:N or mps"
    try:
        dev = torch.device(device)
    except RuntimeError:  # torch's "Expected one of cpu, cuda, ipu, xpu, ...": names we cannot run on
        raise ValueError(f"--device {device}: not a device name; use {accepted}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"--device {device}: no CUDA GPU is available here; use --device cpu (or auto)")
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ValueError(
                f"--device {device}: this machine has {count} CUDA GPU{'s' if count != 1 else ''} (cuda:0 to cuda:{count - 1})"
            )
    elif dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"--device {device}: no Apple GPU (MPS) is available here; use --device cpu (or auto)")
    elif dev.type != "cpu":
        raise ValueError(f"--device {device}: nlvfi cannot run on {dev.type} devices; use {accepted}")
    return dev


def most_changing_pixel(prev: torch.Tensor, next: torch.Tensor) -> tuple[int, int]:
    """(y, x) where the two frames differ most, after a 31x31 box blur (a moving object)."""
    change = (next - prev).abs().mean(1, keepdim=True)  # (1, 1, H, W)
    change = F.avg_pool2d(change, 31, stride=1, padding=15, count_include_pad=False)
    index = int(change.flatten().argmax())
    return divmod(index, change.shape[-1])


def run_tour(
    data_dir: Path = DATA_DIR,
    size: str = "tiny",
    checkpoint: str | None = None,
    out_dir: Path = Path("out/tour"),
    device: str = "auto",
    seed: int = 0,
) -> dict:
    """Run the pipeline on ``data_dir``'s prev/middle/next, write figure + numbers, return them."""
    torch.manual_seed(seed)
    dev = pick_device(device)
    prev, middle, next = (read_frame(data_dir / f"{name}.png").to(dev) for name in ("prev", "middle", "next"))
    generator = load_generator(checkpoint, device=dev) if checkpoint else build_generator(size).to(dev)
    generator.eval()
    start = time.perf_counter()
    with torch.inference_mode():
        out = generator(prev, next, t=0.5, return_intermediates=True)
    seconds = time.perf_counter() - start

    metrics = {
        "model": generator.config.name,
        "weights": str(checkpoint) if checkpoint else "untrained (random initialisation, seed %d)" % seed,
        "frame_size": list(prev.shape[-2:]),
        "device": str(dev),
        "forward_seconds": round(seconds, 3),
        "psnr_db": {
            "nlvfi": round(psnr(out.frame, middle), 2),
            "average_of_the_two_frames": round(psnr((prev + next) / 2, middle), 2),
            "repeat_previous_frame": round(psnr(prev, middle), 2),
        },
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    write_frame(out.frame, out_dir / "generated_middle.png")
    atomic_write(out_dir / "tour.json", lambda tmp: Path(tmp).write_text(json.dumps(metrics, indent=2) + "\n"))
    figure = draw_tour(prev, next, middle, out, generator.config, metrics)
    atomic_write(out_dir / "tour.png", lambda tmp: figure.savefig(tmp, format="png", dpi=80))
    return metrics


def draw_tour(prev, next, middle, out, config, metrics: dict):
    """One figure, four rows: frames; flows; depth and kernels; warping, non-local, attention.

    ``config`` is the generator's ModelConfig: its stride gives the padded size the attention
    was computed on, its number of down groups the attention grid's cell size.
    """
    import matplotlib.pyplot as plt

    query = most_changing_pixel(prev, next)
    grid = 2**config.nonlocal_down_groups  # one attention position per grid x grid pixels
    padded = visualize.padded_size(*prev.shape[-2:], config.stride)
    attention = visualize.attention_row(out.attention, query, padded, grid)
    attention_full = np.kron(attention, np.ones((grid, grid)))[: prev.shape[-2], : prev.shape[-1]]
    features = out.nonlocal_features[0].float()
    feature_map = features.pow(2).mean(0).sqrt().cpu().numpy()  # RMS over channels
    max_flow = max(float(np.percentile(f.abs().cpu().numpy(), 99)) for f in out.flows) or 1.0

    untrained = metrics["weights"].startswith("untrained")
    scores = metrics["psnr_db"]
    panels = [
        ("prev (frame k-2)", visualize.to_image(prev), None),
        ("next (frame k+2)", visualize.to_image(next), None),
        ("true middle (frame k)", visualize.to_image(middle), None),
        (f"generated, {scores['nlvfi']:.2f} dB (average: {scores['average_of_the_two_frames']:.2f})", visualize.to_image(out.frame), None),
        (f"forward flow prev→next (full colour = {max_flow:.2f} px)", visualize.flow_to_rgb(out.flows[0], max_flow), None),
        (f"backward flow next→prev (full colour = {max_flow:.2f} px)", visualize.flow_to_rgb(out.flows[1], max_flow), None),
        ("projected flow t→prev", visualize.flow_to_rgb(out.projected_flows[0], max_flow / 2), None),
        ("projected flow t→next", visualize.flow_to_rgb(out.projected_flows[1], max_flow / 2), None),
        ("depth of prev", out.depths[0][0, 0].cpu().numpy(), "viridis"),
        ("depth of next", out.depths[1][0, 0].cpu().numpy(), "viridis"),
        ("kernel of prev: |k - bilinear|", visualize.kernel_summary(out.kernels[0]), "magma"),
        ("kernel of next: |k - bilinear|", visualize.kernel_summary(out.kernels[1]), "magma"),
        ("prev adaptively warped to t", visualize.to_image(out.warped_frames[0]), None),
        ("next adaptively warped to t", visualize.to_image(out.warped_frames[1]), None),
        ("non-local features (RMS over channels)", feature_map, "cividis"),
        ("attention of the marked pixel", visualize.to_image(prev), None),
    ]
    fig, axes = plt.subplots(4, 4, figsize=(19, 12))
    for ax, (title, image, cmap) in zip(axes.flat, panels):
        shown = ax.imshow(image, cmap=cmap)
        if cmap:
            fig.colorbar(shown, ax=ax, fraction=0.035)
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    attention_ax = axes.flat[-1]
    attention_ax.imshow(attention_full, cmap="inferno", alpha=0.6)
    attention_ax.plot(query[1], query[0], "c+", markersize=14, markeredgewidth=2)
    wheel = axes.flat[4].inset_axes([0.0, 0.0, 0.22, 0.3])
    wheel.imshow(visualize.flow_colour_wheel())
    wheel.axis("off")
    state = "UNTRAINED weights: the result is not yet a good frame" if untrained else f"weights: {metrics['weights']}"
    fig.suptitle(
        f"nlvfi tour · model '{metrics['model']}' · {state} · "
        f"{metrics['frame_size'][1]}x{metrics['frame_size'][0]} on {metrics['device']} in {metrics['forward_seconds']:.2f} s",
        fontsize=13,
    )
    fig.tight_layout()
    return fig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", default="tiny", choices=("tiny", "small", "full"), help="model size (untrained)")
    parser.add_argument("--checkpoint", help="a generator .safetensors file; overrides --size")
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="folder with prev.png, middle.png, next.png")
    parser.add_argument("--out", type=Path, default=Path("out/tour"), help="output folder")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    parser.add_argument("--seed", type=int, default=0)


def main(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")  # the command line draws to files only
    metrics = run_tour(args.data, args.size, args.checkpoint, args.out, args.device, args.seed)
    scores = metrics["psnr_db"]
    print(
        f"model {metrics['model']} ({metrics['weights']}) on {metrics['device']}: "
        f"{metrics['frame_size'][1]}x{metrics['frame_size'][0]} in {metrics['forward_seconds']} s\n"
        f"PSNR vs the true middle frame: nlvfi {scores['nlvfi']} dB, "
        f"average of the two frames {scores['average_of_the_two_frames']} dB, "
        f"repeat previous frame {scores['repeat_previous_frame']} dB\n"
        f"wrote {args.out / 'tour.png'}, {args.out / 'tour.json'}, {args.out / 'generated_middle.png'}"
    )
    return 0
