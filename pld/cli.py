"""``pld``: the command line. Errors print one line with the fix, never a traceback."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from pld.errors import PLDError


def build_parser() -> argparse.ArgumentParser:
    from pld.commands import compare, compile, distill, doctor, evaluate, predict, review

    parser = argparse.ArgumentParser(prog="pld", description="Prompt-Level Distillation for DSPy programs.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (compile, evaluate, review, predict, distill, compare, doctor):
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
        status = args.func(args)  # a command may return a non-zero exit status (partial success)
    except PLDError as exc:
        print(f"error: {_redacted(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted: no partial artifact was written", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug or an OS error: one line, the traceback on request
        if args.verbose:
            raise
        print(f"error: {_redacted(f'{type(exc).__name__}: {exc}')} (rerun with --verbose for the traceback)",
              file=sys.stderr)
        return 1
    return int(status or 0)


def _redacted(text: str) -> str:
    from pld.faults import redact

    return redact(text)


if __name__ == "__main__":
    sys.exit(main())
