"""``pld doctor``: check an installation the way a user needs it checked, one line per check."""

from __future__ import annotations

import argparse
import logging

from pld.backends.registry import served_prefixes

DEFAULT_SPECS = ("local/gemma3-270m", "local/qwen2.5-0.5b")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "doctor", help="check the embedded engine, models, servers and data files; print the fix for each failure",
        description="Loads each embedded model and decodes a few tokens in a child process (a native crash is "
                    "reported with its fix), asks each named server one bounded request, and finds the data files. "
                    "Exit status 1 if any check failed.")
    parser.add_argument("--student", action="append", default=[], metavar="SPEC",
                        help="a student model spec to check (repeatable; default: the embedded models)")
    parser.add_argument("--teacher", action="append", default=[], metavar="SPEC", help="a teacher model spec to check")
    parser.add_argument("--api-base", help=f"server address for {' or '.join(p + '/' for p in served_prefixes())} specs")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each server (default 10)")
    parser.add_argument("--data-dir", help="folder with the official data files (default: $PLD_DATA_DIR or ../shared/data)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pld.doctor import run_checks

    if not args.verbose:  # one line per check: the loaders' progress lines would bury them
        logging.getLogger("pld").setLevel(logging.WARNING)

    specs = list(dict.fromkeys([*args.student, *args.teacher])) or list(DEFAULT_SPECS)
    models = [spec.partition("/")[2] for spec in specs if spec.startswith("local/")]
    from pld.backends.pool.config import split_api_bases

    # A pool (addresses separated by commas) is checked address by address.
    bases: list[str | None] = list(split_api_bases(args.api_base)) if args.api_base else [None]
    servers = [(spec, base) for spec in specs if not spec.startswith("local/") for base in bases]
    failed = 0
    for check in run_checks(models=models, servers=servers, data_dir=args.data_dir, timeout=args.timeout):
        print(check.line(), flush=True)
        failed += not check.ok
    print(f"{failed} check(s) failed" if failed else "all checks passed")
    return 1 if failed else 0
