"""``pld``: the command line. Errors print one line with the fix, never a traceback."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from pld.errors import PLDError


def build_parser() -> argparse.ArgumentParser:
    from pld.commands import compare, compile, distill, evaluate, predict, review

    parser = argparse.ArgumentParser(prog="pld", description="Prompt-Level Distillation for DSPy programs.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (compile, evaluate, review, predict, distill, compare):
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # offline: no price-list fetch
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "LiteLLM", "litellm", "dspy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        args.func(args)
    except PLDError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted: no partial artifact was written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
