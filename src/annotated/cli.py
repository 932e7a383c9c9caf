"""The command line: `python -m annotated COMMAND ...`."""

from __future__ import annotations

import argparse
import sys


def cmd_figures(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from . import figures

    for path in figures.save_all(args.out, args.names or None):
        print(f"wrote {path}  {figures.FIGURES[path.stem].caption}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m annotated",
        description="The annotated Transformer course's command line.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("figures", help="save the chapters' key figures as PNG files",
                       description="Draw the chapters' key figures and save them as PNGs.")
    p.add_argument("names", nargs="*", help="figures to draw (default: all)")
    p.add_argument("--out", default="figures", help="folder for the PNGs (default: figures)")
    p.set_defaults(run=cmd_figures)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
