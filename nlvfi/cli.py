"""The ``nlvfi`` command.

    nlvfi tour        the whole pipeline on the bundled real frame pair (the main job)
    nlvfi params      parameter counts per module for every size
    nlvfi train       GAN training (nlvfi train --config configs/ci.toml)
    nlvfi evaluate    PSNR/SSIM of nlvfi and the baselines on held-out data
    nlvfi study       the ablation study (nlvfi study [--retrain] [--profile cuda])
    nlvfi data fetch  install/extract the real clips of Debian's opencv-doc package
    nlvfi bench       speed and memory benchmark
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from contextlib import contextmanager

from . import tour

# sub-commands implemented by a module's main(argv); imported only when used
DELEGATED = {
    "train": ("nlvfi.train", "main", "GAN training from a TOML config"),
    "evaluate": ("nlvfi.evaluate", "main", "PSNR/SSIM of nlvfi and baselines on held-out data"),
    "study": ("nlvfi.study", "main", "the ablation study: local only / + non-local / + GAN, tables and figures"),
    "bench": ("nlvfi.bench", "main", "speed and memory benchmark"),
    "data": ("nlvfi.data.video", "fetch_main", "`nlvfi data fetch`: get the opencv-doc clips"),
    "interpolate": ("nlvfi.interpolate", "main", "in-between frames: an image pair, a CSV of pairs, or a video x2/x4"),
    "repair": ("nlvfi.repair", "main", "repair a stuttering video: replace duplicated frames, keep timing and audio"),
}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that every ``finally`` and atomic write
    cleans up (killed outright, a run left its temporary file beside OUT)."""

    exit_code = 143  # 128 + SIGTERM, what a shell reports for a process killed by it


@contextmanager
def terminate_as_interrupt():
    """While inside, SIGTERM raises :class:`Terminated` (main thread only; restored after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def guarded_main(command: str, build_parser, run, argv) -> int:
    """Parse and run a sub-command: 0 on success; on bad input a one-line error and exit 2;
    interrupted (Ctrl-C, SIGTERM) a one-line note and 130 / 143, no traceback.

    ``--help`` exits 0 and a malformed argument 2 (argparse has printed why).
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit:
        return int(exit.code or 0)
    try:
        with terminate_as_interrupt():
            return run(args)
    except (FileNotFoundError, ValueError, TypeError, RuntimeError, OSError) as error:
        message = " ".join(str(error).split())
        print(f"nlvfi {command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:
        note = getattr(interrupt, "resume_note", None)  # nlvfi.resume: where the kept work is
        print(f"nlvfi {command}: interrupted; no file is left half-written" + (f"; {note}" if note else ""), file=sys.stderr)
        return getattr(interrupt, "exit_code", 130)


def _params(_: argparse.Namespace) -> int:
    from . import PRESETS, build_discriminator, build_generator, format_parameter_table

    print("Generator parameters per module\n")
    print(format_parameter_table({size: build_generator(size) for size in PRESETS}))
    print("\nDiscriminator parameters (VGG-13 layout)\n")
    print(format_parameter_table({size: build_discriminator(size) for size in PRESETS}))
    return 0


def _delegate(command: str, rest: list[str]) -> int:
    module, function, _ = DELEGATED[command]
    if command == "data":
        if not rest or rest[0] != "fetch":
            raise ValueError("usage: nlvfi data fetch [--dest DIR]")
        rest = rest[1:]
    return getattr(importlib.import_module(module), function)(rest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nlvfi", description="Non-local video frame interpolation.")
    commands = parser.add_subparsers(dest="command", required=True)
    tour_parser = commands.add_parser("tour", help="run the whole pipeline on the bundled real frame pair")
    tour.add_arguments(tour_parser)
    tour_parser.set_defaults(run=tour.main)
    params_parser = commands.add_parser("params", help="print parameter counts per module for every size")
    params_parser.set_defaults(run=_params)
    for name, (_, _, help_text) in DELEGATED.items():
        commands.add_parser(name, help=help_text, add_help=False)
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] in DELEGATED:  # their own parsers see every argument, --help included
            return _delegate(argv[0], argv[1:])
        args = parser.parse_args(argv)
        return args.run(args)
    except (FileNotFoundError, ValueError, TypeError, RuntimeError) as error:
        print(f"nlvfi {argv[0] if argv else ''}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
