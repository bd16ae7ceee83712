"""The ``reglab`` command: exact least squares and design diagnostics for one file, from the shell.

    reglab fit FILE --target y [--features a,b] [--no-intercept] [--stream] [--json] [--debug]
    reglab diagnose FILE --target y [--features a,b] [--no-intercept] [--json] [--debug]

FILE is a CSV file, a Parquet file or a folder of Parquet files; a folder and a large file are
streamed (``--stream`` forces it). Plain output is a short table; ``--json`` prints the result's
``to_dict()``. Bad input exits with status 2 and the pipeline's message (file, column, row, value) on
stderr, with no traceback unless ``--debug``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from reglab import __version__

    parser = argparse.ArgumentParser(
        prog="reglab",
        description="Exact least squares and design diagnostics for one CSV or Parquet file.",
    )
    parser.add_argument("--version", action="version", version=f"reglab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, what in (
        ("fit", "least-squares coefficients, standard errors and their correct digits"),
        ("diagnose", "is the design identifiable: rank, conditioning, VIF, exact dependences"),
    ):
        p = sub.add_parser(name, help=what, description=what)
        p.add_argument("file", help="a CSV file, a Parquet file or a folder of Parquet files")
        p.add_argument("--target", required=True, help="the response column")
        p.add_argument(
            "--features",
            help="comma-separated feature columns (default: every other column that holds numbers)",
        )
        p.add_argument("--no-intercept", action="store_true", help="fit without an intercept")
        p.add_argument("--json", action="store_true", help="print the result as JSON (its to_dict())")
        p.add_argument("--debug", action="store_true", help="show the traceback of an error")
        if name == "fit":
            p.add_argument(
                "--stream", action="store_true", help="fit chunk by chunk (default: folders and large files)"
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 ok, 2 bad input or usage, 1 a failed computation)."""
    args = _parser().parse_args(argv)
    from reglab import api

    features = [f.strip() for f in args.features.split(",") if f.strip()] if args.features else None
    kwargs = {"target": args.target, "features": features, "intercept": not args.no_intercept}
    try:
        if args.command == "fit":
            result = api.fit(args.file, stream=True if args.stream else None, **kwargs)
        else:
            result = api.diagnose(args.file, **kwargs)
    except (ValueError, OSError, MemoryError, FloatingPointError) as exc:
        if args.debug:
            raise
        print(f"reglab {args.command}: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, (ValueError, OSError, MemoryError)) else 1
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2, allow_nan=False, default=str)
        print()
    else:
        print(result.summary())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
