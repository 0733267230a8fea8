"""Counting LM calls and tokens through DSPy callbacks, the one place every call passes.

``dspy.track_usage()`` misses calls made inside threads; callbacks see every call, cache hits
included. Each record says which role (teacher/student) and which phase of a run made it.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import dspy
from dspy.utils.callback import BaseCallback


@dataclass(frozen=True)
class CallRecord:
    role: str
    phase: str
    cache_hit: bool
    input_tokens: int
    output_tokens: int
    seconds: float


@dataclass
class UsageTotals:
    """Calls and tokens; ``calls`` includes cache hits, ``*_tokens`` count only real model work."""

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

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "cache_hits": self.cache_hits,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "seconds": round(self.seconds, 3),
        }


class _RoleCallback(BaseCallback):
    def __init__(self, counter: UsageCounter, role: str):
        self.counter = counter
        self.role = role
        self._started: dict[str, tuple[Any, float]] = {}

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        self._started[call_id] = (instance, time.perf_counter())

    def on_lm_end(self, call_id: str, outputs: Any, exception: BaseException | None = None) -> None:
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


@dataclass
class UsageCounter:
    """Collects a ``CallRecord`` per LM call of every watched LM."""

    phase: str = "setup"
    records: list[CallRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def watch(self, lm: dspy.BaseLM, role: str) -> dspy.BaseLM:
        """Attach a counting callback for ``role`` to ``lm`` (in place) and return it."""
        lm.callbacks = [cb for cb in lm.callbacks if not (isinstance(cb, _RoleCallback) and cb.counter is self)]
        lm.callbacks.append(_RoleCallback(self, role))
        return lm

    def record(self, record: CallRecord) -> None:
        with self._lock:
            self.records.append(record)

    def totals(self, *, role: str | None = None, phase: str | None = None) -> UsageTotals:
        totals = UsageTotals()
        for record in self.records:
            if (role is None or record.role == role) and (phase is None or record.phase == phase):
                totals.add(record)
        return totals

    def by_phase(self) -> dict[str, dict[str, dict[str, Any]]]:
        """``{phase: {role: totals}}`` in the order phases first appeared."""
        grouped: dict[str, dict[str, UsageTotals]] = defaultdict(dict)
        for record in self.records:
            grouped[record.phase].setdefault(record.role, UsageTotals()).add(record)
        return {phase: {role: t.as_dict() for role, t in roles.items()} for phase, roles in grouped.items()}
