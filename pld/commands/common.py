"""Options shared by the commands that run a model."""

from __future__ import annotations

import argparse
import math

from pld.commands.types import non_negative_int
from pld.backends.options import DEFAULT_RETRIES, DEFAULT_TIMEOUT_S, LMOptions

# The suite's task names for help texts, without importing the tasks (and DSPy); a test keeps
# them equal to pld.tasks.TASKS.
TASK_NAMES = ("stereoset", "contract_nli", "logiqa")

NOTE = ("Note: tiny local models show how PLD works, not the quality the paper reports "
        "(a frontier teacher and Gemma-3 4B served by Ollama).")


def add_model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api-base", help="server address for ollama/ or OpenAI-compatible openai/ specs; "
                                           "user:password@ in it is sent as HTTP basic auth")
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the data samples, the models and every random choice of the run (default 0)")
    parser.add_argument("--no-cache", action="store_true", help="bypass DSPy's response cache")
    parser.add_argument("--label-mode", choices=["score", "grammar"], default="score",
                        help="embedded models: score the labels in one pass, or generate under a grammar")
    parser.add_argument("--calibrate", action="store_true",
                        help="embedded models: contextual calibration of label scores (content-free input)")
    parser.add_argument("--chat-format", choices=["gemma", "chatml"], default=None,
                        help="openai/ specs with --api-base: score labels from log-probabilities via /v1/completions, "
                             "rendering prompts in this turn format")
    parser.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT_S,
                        help=f"servers: seconds a request may wait for its answer (default {DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--retries", type=non_negative_int, default=DEFAULT_RETRIES,
                        help="servers: retries of a timeout, HTTP 429 or 5xx, with exponential backoff "
                             f"(default {DEFAULT_RETRIES}); other server faults stop the run at once")
    parser.add_argument("--data-dir", help="folder with the official data files (default: $PLD_DATA_DIR or ../shared/data)")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def lm_options(args: argparse.Namespace) -> LMOptions:
    return LMOptions(temperature=args.temperature, max_tokens=args.max_tokens, seed=args.seed,
                     api_base=args.api_base, cache=not args.no_cache, label_mode=args.label_mode,
                     calibrate=args.calibrate, chat_format=args.chat_format, timeout=args.timeout,
                     num_retries=args.retries)
