"""Options shared by the commands that run a model."""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from pld.backends.registry import served_prefixes
from pld.commands.types import non_negative_int, positive_int
from pld.backends.options import LMOptions, RoleOptions

# The suite's task names for help texts, without importing the tasks (and DSPy); a test keeps
# them equal to pld.tasks.TASKS.
TASK_NAMES = ("stereoset", "contract_nli", "logiqa", "policy_support", "policy_refunds", "policy_expenses",
              "policy_banking")
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
_PARSERS: dict[str, Any] = {"float": float, "int": int, "seconds": _seconds, "int>=0": non_negative_int,
                            "int>=1": positive_int, "keep_alive": _keep_alive}


@dataclasses.dataclass(frozen=True)
class ModelFlag:
    """One ``LMOptions`` field as a command-line flag, from the field's metadata."""

    field: str
    flag: str
    help: str
    default: Any
    options: dict[str, Any]
    per_role: bool
    inverse: bool


def model_flags() -> list[ModelFlag]:
    """Every ``LMOptions`` field that has a flag, in the order the fields are declared."""
    flags = []
    for name, info in LMOptions.model_fields.items():
        extra = info.json_schema_extra
        if not isinstance(extra, dict) or not extra.get("cli"):
            continue
        meta = {**extra, "help": info.description}
        options: dict[str, Any] = {}
        if meta.get("inverse") or meta.get("boolean"):
            options["action"] = "store_true" if meta.get("inverse") else argparse.BooleanOptionalAction
        elif "choices" in meta:
            options["choices"] = list(meta["choices"])
        else:
            options["type"] = _PARSERS.get(meta.get("parse"), str)
            options["metavar"] = meta.get("metavar", "TEXT")
        default = meta.get("cli_default", info.default) if not meta.get("inverse") else False
        help_text = meta["help"]
        if name == "api_base":
            help_text = f"{' or '.join(p + '/' for p in served_prefixes())} specs: {help_text}"
        if default is not None and not meta.get("inverse") and not meta.get("boolean"):
            help_text += f" (default: {default})"
        flags.append(ModelFlag(name, meta.get("flag", name.replace("_", "-")), help_text, default, options,
                               bool(meta.get("per_role")), bool(meta.get("inverse"))))
    return flags


def add_model_args(parser: argparse.ArgumentParser, roles: Sequence[str] = ROLES, own: Sequence[str] = ()) -> None:
    """The model options, generated from ``LMOptions``; each of ``roles`` also gets its own
    ``--ROLE-FLAG`` for the per-role ones, except the role flags in ``own`` (e.g.
    ``"student-max-tokens"``), which the command defines itself."""
    flags = model_flags()
    for flag in flags:
        parser.add_argument(f"--{flag.flag}", dest=_dest(flag), default=flag.default, help=flag.help.replace("%", "%%"),
                            **flag.options)
    parser.add_argument("--data-dir", help="folder with the official data files (default: $PLD_DATA_DIR or ../shared/data)")
    if roles:
        group = parser.add_argument_group(
            "per-role model options", f"--{'/--'.join(roles)}-FLAG overrides --FLAG for that role only; "
                                      "the unprefixed flag (or its default) applies to every role")
        for role in roles:
            for flag in flags:
                if not flag.per_role or f"{role}-{flag.flag}" in own:
                    continue
                options = {key: value for key, value in flag.options.items() if key != "action"}
                group.add_argument(f"--{role}-{flag.flag}", dest=f"{role}_{flag.field}", default=None,
                                   help=f"the {role}'s setting of --{flag.flag}", **options)


def _dest(flag: ModelFlag) -> str:
    return flag.flag.replace("-", "_")


def lm_options(args: argparse.Namespace, role: str | None = None) -> LMOptions:
    """The options of ``role`` (its own flags over the shared ones), or the shared options."""
    values: dict[str, Any] = {}
    for flag in model_flags():
        value = getattr(args, _dest(flag))
        values[flag.field] = not value if flag.inverse else value
        own = getattr(args, f"{role}_{flag.field}", None) if role is not None and flag.per_role else None
        if own is not None:
            values[flag.field] = own
    if values.get("label_mode") is None:  # not given: the default mode (an artifact keeps its own: pld.load)
        values["label_mode"] = LMOptions.model_fields["label_mode"].default
    return LMOptions(**values)


def role_options(args: argparse.Namespace) -> RoleOptions:
    """Teacher and student options, each with its own flags over the shared ones."""
    return RoleOptions(teacher=lm_options(args, "teacher"), student=lm_options(args, "student"))


def decoding_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """``--label-mode`` / ``--calibrate`` as ``pld.load`` keywords: None keeps the artifact's setting."""
    return {"label_mode": args.label_mode, "calibrate": args.calibrate}
