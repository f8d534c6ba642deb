"""``ckpt-widgets``: the listing and the comparison tables in a terminal or a CI job.

    ckpt-widgets ls PATH [--csv] [--summary] [--stats]
    ckpt-widgets diff A B [--csv] [--root-a ROOT] [--root-b ROOT] [--changed]
    ckpt-widgets run DIRECTORY [--against first|previous] [--csv]

Tables print in full with pandas; ``--csv`` writes CSV to standard output instead. A
missing or unreadable file prints the library's one-sentence error on standard error and
exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

EXIT_ERROR = 2
LS_COLUMNS = ["path", "key", "shape", "dtype", "size", "nbytes", "group", "layer"]
DIFF_COLUMNS = [
    "path", "status", "shape_a", "shape_b", "dtype_a", "dtype_b", "rel_change",
    "max_abs_diff", "cosine", "group",
]  # fmt: skip
RUN_COLUMNS = ["step", "module", "rel_change", "max_abs_diff", "changed", "variables"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, or 2 on a user or file error)."""
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    try:
        table = args.command(args)
    except (OSError, ValueError, KeyError) as exc:  # the library's one-sentence errors
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"ckpt-widgets: error: {message}", file=sys.stderr)
        return EXIT_ERROR
    try:
        _print(table, args.csv)
    except BrokenPipeError:  # `| head` stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _ls(args: argparse.Namespace) -> pd.DataFrame:
    from .files.open import open_checkpoint
    from .preview.explore import checkpoint_summary, variable_stats

    if args.summary:
        return checkpoint_summary(args.path, values=args.stats).reset_index()
    if args.stats:
        return variable_stats(args.path)
    table = open_checkpoint(args.path).variables
    return table[[c for c in LS_COLUMNS if c in table.columns]]


def _diff(args: argparse.Namespace) -> pd.DataFrame:
    from .engine.compare import compare

    table = compare(args.a, args.b, root_a=args.root_a, root_b=args.root_b)
    if args.changed:
        table = table[table["status"] != "same"]
    return table[DIFF_COLUMNS]


def _run(args: argparse.Namespace) -> pd.DataFrame:
    from .engine.runs import compare_run, run_by_module

    return run_by_module(compare_run(args.directory, against=args.against))[RUN_COLUMNS]


def _print(table: pd.DataFrame, csv: bool) -> None:
    import pandas as pd

    if csv:
        table.to_csv(sys.stdout, index=False)
        return
    if table.empty:  # pandas would print "Empty DataFrame": the header says it plainly
        print("  ".join(map(str, table.columns)))
        return
    left = {}  # text columns (paths, shapes) read best aligned left
    for column in table.columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            width = max(len(column), int(table[column].map(str).str.len().max()))
            left[column] = lambda value, width=width: str(value).ljust(width)
    with pd.option_context("display.max_colwidth", None, "display.float_format", "{:.6g}".format):
        print(table.to_string(index=False, formatters=left, justify="left"))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ckpt-widgets",
        description="List a TensorFlow / Keras checkpoint, or compare two, as plain tables.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    ls = commands.add_parser("ls", help="list a checkpoint's variables")
    ls.add_argument("path", help="checkpoint prefix, directory, .weights.h5 or .keras file")
    ls.add_argument("--summary", action="store_true", help="one row per subtree instead")
    ls.add_argument("--stats", action="store_true", help="read the values: mean, std, NaN, …")
    ls.set_defaults(command=_ls)
    diff = commands.add_parser("diff", help="compare two checkpoints variable by variable")
    diff.add_argument("a", help="the reference checkpoint")
    diff.add_argument("b", help="the checkpoint compared with it")
    diff.add_argument("--root-a", help="object path where A holds the model (default: found)")
    diff.add_argument("--root-b", help="object path where B holds the model (default: found)")
    diff.add_argument("--changed", action="store_true", help="leave out variables that are same")
    diff.set_defaults(command=_diff)
    run = commands.add_parser("run", help="change per module over a CheckpointManager run")
    run.add_argument("directory", help="directory of ckpt-1 … ckpt-N")
    run.add_argument("--against", choices=["first", "previous"], default="first")
    run.set_defaults(command=_run)
    for sub in (ls, diff, run):
        sub.add_argument("--csv", action="store_true", help="write CSV to standard output")
    return parser


if __name__ == "__main__":
    sys.exit(main())
