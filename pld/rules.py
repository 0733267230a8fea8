"""The typed records that flow through a PLD run: traces, micro-rules, candidate rules."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

import dspy
from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


def example_key(example: dspy.Example) -> str:
    """A stable id for an example, from its inputs: identical inputs share one id."""
    payload = json.dumps({k: str(v) for k, v in sorted(example.inputs().items())}, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


class Trace(Frozen):
    """One teacher rationale for one training example, with the micro-rule it distilled."""

    example_key: str
    example_id: str | None
    inputs: dict[str, Any]
    mode: Literal["label-conditioned", "label-free"]
    gold_label: str | None
    teacher_label: str | None
    rationale: str
    micro_rule: str


class CandidateRule(Frozen):
    """A rule the greedy step may select, with where it came from."""

    id: str
    text: str
    source: Literal["cluster", "micro-rule", "repair"]
    cluster_size: int
    example_keys: tuple[str, ...]
    micro_rules: tuple[str, ...]


class SelectedRule(Frozen):
    """A rule in the compiled program, in order, with the validation gain it brought."""

    candidate_id: str
    text: str
    marginal_gain: float | None  # None for rules a repair rewrite introduced
    source: str
    example_keys: tuple[str, ...]


def clean_rule(text: str) -> str:
    """One line, no list numbering or quotes around it."""
    line = " ".join(text.split())
    line = line.lstrip("-*•0123456789.) ").strip().strip('"').strip()
    return line
