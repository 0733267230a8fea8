"""Options shared by the commands that run a model."""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from pld.backends.registry import served_prefixes
from pld.commands.types import non_negative_int, positive_int
from pld.backends.options import (CHAT_FORMAT_CHOICES, DEFAULT_RETRIES, DEFAULT_ROUTING_STRATEGY, DEFAULT_TIMEOUT_S,
                                  LABEL_MODES, ROUTING_STRATEGIES, LMOptions, RoleOptions)

# The suite's task names for help texts, without importing the tasks (and DSPy); a test keeps
# them equal to pld.tasks.TASKS.
TASK_NAMES = ("stereoset", "contract_nli", "logiqa", "policy_support", "policy_refunds")
DEFAULT_TASK = "policy_support"  # the main job: a house policy the default student can be taught


NOTE = ("Note: tiny local models show how PLD works, not the quality the paper reports "
        "(a frontier teacher and Gemma-3 4B served by Ollama).")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def _keep_alive(text: str) -> str | float:
    """A number is seconds (negative: keep the model loaded for good); anything else is a
    duration Ollama parses itself, e.g. ``10m`` or ``1h``."""
    try:
        return float(text)
    except ValueError:
        return text


ROLES = ("teacher", "student")

# (flag, LMOptions field, argparse type, help): the settings a role can have of its own. The
# unprefixed flag is the default for every role; --teacher-FLAG / --student-FLAG override it.
ROLE_SETTINGS: tuple[tuple[str, str, Any, str], ...] = (
    ("api-base", "api_base", str, "server address (several, separated by commas: a pool)"),
    ("router", "router", str, "LiteLLM Router config (YAML model_list) of the servers to spread calls over"),
    ("temperature", "temperature", float, "sampling temperature"),
    ("max-tokens", "max_tokens", int, "cap on generated tokens"),
    ("timeout", "timeout", _seconds, "seconds a request may wait"),
    ("retries", "num_retries", non_negative_int, "retries of transient server faults"),
    ("chat-format", "chat_format", str, "turn format for label scoring via /v1/completions"),
)
_METAVARS = {"api-base": "URL", "temperature": "T", "timeout": "SECONDS", "router": "FILE"}


def add_model_args(parser: argparse.ArgumentParser, roles: Sequence[str] = ROLES, own: Sequence[str] = ()) -> None:
    """The model options; each of ``roles`` also gets its own ``--ROLE-api-base`` etc., except the
    role flags in ``own`` (e.g. ``"student-max-tokens"``), which the command defines itself."""
    parser.add_argument("--api-base", help=f"server address for {' or '.join(p + '/' for p in served_prefixes())} specs; "
                                           "user:password@ in it is sent as HTTP basic auth; several addresses "
                                           "separated by commas spread the calls over them (failover included)")
    parser.add_argument("--router", metavar="FILE",
                        help="a LiteLLM Router config (YAML or JSON with a model_list, LiteLLM's format): the servers "
                             "to spread calls over, instead of --api-base")
    parser.add_argument("--routing-strategy", choices=ROUTING_STRATEGIES, default=DEFAULT_ROUTING_STRATEGY,
                        help=f"several servers: how the Router picks one per call (default {DEFAULT_ROUTING_STRATEGY})")
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the data samples, the models and every random choice of the run (default 0)")
    parser.add_argument("--no-cache", action="store_true", help="bypass DSPy's response cache")
    parser.add_argument("--label-mode", choices=LABEL_MODES, default=None,
                        help="embedded models and completions servers: score the labels in one pass (default), or generate under a grammar; "
                             "a loaded artifact keeps its recorded mode unless this is given")
    parser.add_argument("--calibrate", action=argparse.BooleanOptionalAction, default=None,
                        help="embedded models and completions servers (--chat-format): contextual calibration "
                             "of label scores (content-free input); "
                             "default: the task's setting, chosen by measurement (on for stereoset and logiqa, "
                             "off for contract_nli); a loaded artifact keeps its recorded setting unless this is given")
    parser.add_argument("--chat-format", choices=CHAT_FORMAT_CHOICES, default=None,
                        help="openai/ specs with --api-base: score labels via /v1/completions, rendering prompts in "
                             "this turn format (default: the one the server's chat template or tokenizer names; "
                             "'chat': the server's chat route, which generates each label)")
    parser.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT_S,
                        help=f"servers: seconds a request may wait for its answer (default {DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--retries", type=non_negative_int, default=DEFAULT_RETRIES,
                        help="servers: retries of a timeout, HTTP 429 or 5xx, with exponential backoff "
                             f"(default {DEFAULT_RETRIES}); other server faults stop the run at once")
    parser.add_argument("--num-ctx", type=positive_int, default=None,
                        help="ollama/ specs: a fixed context window in tokens (default: sized from each prompt, "
                             "up to the model's context length)")
    parser.add_argument("--keep-alive", type=_keep_alive, default=None,
                        help="ollama/ specs: how long the server keeps the model loaded after a request, as "
                             "seconds or a duration such as 10m or 1h; negative: for good (default 10m)")
    parser.add_argument("--data-dir", help="folder with the official data files (default: $PLD_DATA_DIR or ../shared/data)")
    if roles:
        group = parser.add_argument_group(
            "per-role model options", f"--{'/--'.join(roles)}-FLAG overrides --FLAG for that role only; "
                                      "the unprefixed flag (or its default) applies to every role")
        for role in roles:
            for flag, _, kind, text in ROLE_SETTINGS:
                if f"{role}-{flag}" in own:
                    continue
                extra: dict[str, Any] = ({"choices": CHAT_FORMAT_CHOICES} if flag == "chat-format"
                                         else {"metavar": _METAVARS.get(flag, "N")})
                group.add_argument(f"--{role}-{flag}", dest=f"{role}_{flag.replace('-', '_')}", default=None,
                                   type=kind, help=f"the {role}'s {text}", **extra)


def lm_options(args: argparse.Namespace, role: str | None = None) -> LMOptions:
    """The options of ``role`` (its own flags over the shared ones), or the shared options."""
    options = LMOptions(temperature=args.temperature, max_tokens=args.max_tokens, seed=args.seed,
                        api_base=args.api_base, cache=not args.no_cache, label_mode=args.label_mode or "score",
                        calibrate=args.calibrate, chat_format=args.chat_format, timeout=args.timeout,
                        num_retries=args.retries, num_ctx=args.num_ctx, keep_alive=args.keep_alive,
                        router=args.router, routing_strategy=args.routing_strategy)
    if role is None:
        return options
    own = {name: getattr(args, f"{role}_{flag.replace('-', '_')}", None) for flag, name, _, _ in ROLE_SETTINGS}
    return dataclasses.replace(options, **{name: value for name, value in own.items() if value is not None})


def role_options(args: argparse.Namespace) -> RoleOptions:
    """Teacher and student options, each with its own flags over the shared ones."""
    return RoleOptions(teacher=lm_options(args, "teacher"), student=lm_options(args, "student"))


def decoding_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """``--label-mode`` / ``--calibrate`` as ``pld.load`` keywords: None keeps the artifact's setting."""
    return {"label_mode": args.label_mode, "calibrate": args.calibrate}
