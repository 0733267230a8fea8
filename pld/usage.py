"""Counting LM calls and tokens through DSPy callbacks, the one place every call passes.

``dspy.track_usage()`` misses calls made inside threads; callbacks see every call, cache hits
included. Each record says which role (teacher/student) and which phase of a run made it.
``counting`` is the only way the library attaches them: it restores every LM's callbacks on exit.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import dspy
from dspy.utils.callback import BaseCallback
from pydantic import BaseModel, computed_field


# Tokens estimated without the model's tokenizer (Ollama exposes none; exported data has no model):
# from UTF-8 bytes. About 4 bytes per token for English with the Gemma, Llama and Qwen tokenizers;
# 3 over-counts almost any text (an upper bound: a window sized from it has room), 6 under-counts it
# (a lower bound: a prompt whose count at 6 exceeds a context cannot fit).
BYTES_PER_TOKEN = {"typical": 4.0, "upper": 3.0, "lower": 6.0}


def estimate_tokens(text: str, bound: str = "typical") -> int:
    """The tokens ``text`` takes, estimated from its UTF-8 bytes: ``typical``, or an ``upper`` or
    ``lower`` bound."""
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN[bound])


@dataclass(frozen=True)
class CallRecord:
    """One LM call; ``completions`` holds its raw answers only when the counter keeps texts."""

    role: str
    phase: str
    cache_hit: bool
    input_tokens: int
    output_tokens: int
    seconds: float
    completions: tuple[str, ...] = ()


class UsageTotals(BaseModel):
    """Calls and tokens; ``calls`` includes cache hits, ``*_tokens`` count only real model work. The
    one counting model: run reports, comparisons (``pld.compare.results``) and budgets read it."""

    calls: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0

    def add(self, record: CallRecord) -> None:
        self.calls += 1
        self.seconds += record.seconds
        if record.cache_hit:
            self.cache_hits += 1
        else:
            self.input_tokens += record.input_tokens
            self.output_tokens += record.output_tokens

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def as_dict(self) -> dict[str, Any]:
        """The counts as a run report records them (seconds rounded)."""
        return {
            "calls": self.calls,
            "cache_hits": self.cache_hits,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "seconds": round(self.seconds, 3),
        }


class _RoleCallback(BaseCallback):
    """Turns each call of one LM (and of its ``lm.copy()`` copies) into a ``CallRecord``."""

    def __init__(self, counter: UsageCounter, role: str):
        self.counter = counter
        self.role = role
        self._started: dict[str, tuple[Any, float]] = {}
        self._lock = threading.Lock()  # calls start and end on several threads at once

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        with self._lock:
            self._started[call_id] = (instance, time.perf_counter())

    def on_lm_end(self, call_id: str, outputs: Any, exception: BaseException | None = None) -> None:
        with self._lock:
            instance, started = self._started.pop(call_id, (None, time.perf_counter()))
        entry = _history_entry(instance, outputs)
        usage = (entry or {}).get("usage") or {}
        response = (entry or {}).get("response")
        self.counter.record(
            CallRecord(
                role=self.role,
                phase=self.counter.phase,
                cache_hit=_is_cache_hit(entry, response),
                input_tokens=int(usage.get("prompt_tokens") or usage.get("input_tokens") or 0),
                output_tokens=int(usage.get("completion_tokens") or usage.get("output_tokens") or 0),
                seconds=time.perf_counter() - started,
                completions=_texts(outputs) if self.counter.keep_completions else (),
            )
        )


def _is_cache_hit(entry: dict | None, response: Any) -> bool:
    """DSPy flags provider responses; for custom engines a replayed answer has its usage cleared."""
    if getattr(response, "cache_hit", False):
        return True
    return entry is not None and entry.get("usage") == {}


def _history_entry(instance: Any, outputs: Any) -> dict | None:
    """The history entry of this very call (matched by identity, so threads cannot mix them up)."""
    history = getattr(instance, "history", None) or []
    for entry in reversed(history[-64:]):
        if entry.get("outputs") is outputs:
            return entry
    return None


def _texts(outputs: Any) -> tuple[str, ...]:
    """The raw completion texts DSPy hands its callbacks (several when a call asks for ``n > 1``)."""
    return tuple(str((o.get("text") if isinstance(o, dict) else o) or "") for o in outputs or [])


@dataclass
class UsageCounter:
    """Collects a ``CallRecord`` per LM call of every LM that ``counting`` watches.

    ``phase`` is read when a call ends: set it between the steps of a run.
    """

    phase: str = "setup"
    keep_completions: bool = False
    records: list[CallRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def watch(self, lm: dspy.BaseLM, role: str) -> dspy.BaseLM:
        """Attach a counting callback for ``role`` to ``lm`` (a new list; any earlier one of this
        counter is replaced). Low level: ``counting`` also restores the LM's callbacks."""
        kept = [cb for cb in lm.callbacks if not (isinstance(cb, _RoleCallback) and cb.counter is self)]
        lm.callbacks = [*kept, _RoleCallback(self, role)]
        return lm

    def record(self, record: CallRecord) -> None:
        with self._lock:
            self.records.append(record)

    def _selected(self, role: str | None, phase: str | None) -> list[CallRecord]:
        with self._lock:
            records = list(self.records)
        return [r for r in records if (role is None or r.role == role) and (phase is None or r.phase == phase)]

    def totals(self, *, role: str | None = None, phase: str | None = None) -> UsageTotals:
        totals = UsageTotals()
        for record in self._selected(role, phase):
            totals.add(record)
        return totals

    def completions(self, *, role: str | None = None, phase: str | None = None) -> list[str]:
        """Raw answers in call order (needs ``keep_completions``), cache hits included."""
        return [text for record in self._selected(role, phase) for text in record.completions]

    def by_phase(self) -> dict[str, dict[str, dict[str, Any]]]:
        """``{phase: {role: totals}}`` in the order phases first appeared."""
        grouped: dict[str, dict[str, UsageTotals]] = defaultdict(dict)
        for record in self._selected(None, None):
            grouped[record.phase].setdefault(record.role, UsageTotals()).add(record)
        return {phase: {role: t.as_dict() for role, t in roles.items()} for phase, roles in grouped.items()}


def combined_roles(lms: Mapping[str, dspy.BaseLM]) -> dict[str, dspy.BaseLM]:
    """One role per distinct LM object: an LM given under several roles counts once, as
    ``"teacher+student"`` (roles joined in the mapping's order), so no call is counted twice."""
    groups: dict[int, tuple[dspy.BaseLM, list[str]]] = {}
    for role, lm in lms.items():
        groups.setdefault(id(lm), (lm, []))[1].append(role)
    return {"+".join(roles): lm for lm, roles in groups.values()}


@contextmanager
def counting(lms: Mapping[str, dspy.BaseLM], *, phase: str = "setup",
             keep_completions: bool = False) -> Iterator[UsageCounter]:
    """Count every call of ``lms`` (``{role: lm}``) during the block.

    Each LM's ``callbacks`` list is put back exactly as it was on exit, also after an exception;
    copies made inside the block (``lm.copy()``) keep counting into the yielded counter.
    ``keep_completions`` also records the raw answer texts.
    """
    counter = UsageCounter(phase=phase, keep_completions=keep_completions)
    roles = combined_roles(lms)
    saved = [(lm, lm.callbacks) for lm in roles.values()]
    try:
        for role, lm in roles.items():
            counter.watch(lm, role)
        yield counter
    finally:
        for lm, callbacks in saved:
            lm.callbacks = callbacks
