"""The ``nlvfi`` command: ``nlvfi tour``, ``nlvfi params``, ``nlvfi bench``."""

from __future__ import annotations

import argparse
import sys

from . import tour


def _params(_: argparse.Namespace) -> int:
    from . import PRESETS, build_discriminator, build_generator, format_parameter_table

    print("Generator parameters per module\n")
    print(format_parameter_table({size: build_generator(size) for size in PRESETS}))
    print("\nDiscriminator parameters (VGG-13 layout)\n")
    print(format_parameter_table({size: build_discriminator(size) for size in PRESETS}))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from . import bench

    return bench.main(args.bench_args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nlvfi", description="Non-local video frame interpolation.")
    commands = parser.add_subparsers(dest="command", required=True)
    tour_parser = commands.add_parser("tour", help="run the whole pipeline on the bundled real frame pair")
    tour.add_arguments(tour_parser)
    tour_parser.set_defaults(run=tour.main)
    params_parser = commands.add_parser("params", help="print parameter counts per module for every size")
    params_parser.set_defaults(run=_params)
    bench_parser = commands.add_parser("bench", help="speed and memory benchmark (see python -m nlvfi.bench -h)")
    bench_parser.add_argument("bench_args", nargs=argparse.REMAINDER)
    bench_parser.set_defaults(run=_bench)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (FileNotFoundError, ValueError, TypeError) as error:
        print(f"nlvfi {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
