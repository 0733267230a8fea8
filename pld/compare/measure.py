"""Measuring one method the same way as every other: callbacks on both LMs, engine cross-checks.

Compile cost is counted by ``pld.usage.counting`` callbacks on the teacher and student LMs
(copies that optimizers make with ``lm.copy`` keep them). Run-time cost is measured on a copy of
the student with the response cache off, so latencies are real model work.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import dspy

from pld.backends.local.lm import engine_of
from pld.compare.results import CompileCost, EngineCheck, SplitResult, Usage
from pld.evaluate import evaluate_program
from pld.metrics import MacroF1
from pld.usage import UsageCounter


class EngineProbe:
    """Reads the prompt-token counter of the embedded engine(s) behind some LMs, per engine.

    Roles that share one engine (the same model as teacher and student) are checked together.
    LMs without an embedded engine are not checked.
    """

    def __init__(self, lms: dict[str, dspy.BaseLM]):
        self.groups: dict[int, tuple[Any, list[str]]] = {}
        for role, lm in lms.items():
            # the embedded engine, or the custom engine object a dspy.LM was built over (tests' fakes)
            engine = engine_of(lm) or getattr(lm, "engine", None)
            if isinstance(getattr(engine, "prompt_tokens_total", None), int):
                self.groups.setdefault(id(engine), (engine, []))[1].append(role)
        self.before: dict[int, int] = {}

    def start(self) -> None:
        self.before = {key: engine.prompt_tokens_total for key, (engine, _) in self.groups.items()}

    def checks(self, counted: dict[str, int]) -> dict[str, EngineCheck]:
        """``counted``: input tokens per role from the callbacks since ``start``."""
        result = {}
        for key, (engine, roles) in self.groups.items():
            result["+".join(roles)] = EngineCheck(
                callback_input_tokens=sum(counted.get(role, 0) for role in roles),
                engine_prompt_tokens=engine.prompt_tokens_total - self.before.get(key, 0),
            )
        return result


def compile_cost(counter: UsageCounter, wall_s: float, probe: EngineProbe) -> CompileCost:
    by_role = {role: Usage(**counter.totals(role=role).as_dict()) for role in ("teacher", "student")}
    return CompileCost(
        teacher=by_role["teacher"], student=by_role["student"], wall_s=round(wall_s, 3),
        engine_check=probe.checks({role: usage.input_tokens for role, usage in by_role.items()}),
    )


def runtime_lm(student_lm: dspy.BaseLM) -> dspy.BaseLM:
    """The student with the response cache off; shares the model (and its engine) with the original."""
    return student_lm.copy(cache=False)


def evaluate_split(program: dspy.Module, examples: Sequence[dspy.Example], lm: dspy.BaseLM,
                   metric: MacroF1, label: str) -> SplitResult:
    """Scores, calls, tokens and latency of ``program`` on ``examples`` (one thread, in ``prefix_order``)."""
    probe = EngineProbe({"student": lm})
    probe.start()
    started = time.perf_counter()
    report = evaluate_program(program, examples, lm, metric, progress=label)
    wall = time.perf_counter() - started
    checks = probe.checks({"student": report.input_tokens})
    return SplitResult(**report.model_dump(), wall_s=round(wall, 3), engine_check=checks.get("student"))


def detached(program: dspy.Module, fresh: dspy.Module) -> dspy.Module:
    """``fresh`` (the method's plain student program) loaded with ``program``'s state.

    Drops any LM an optimizer bound to a predictor (every method runs on the same student) and any
    bookkeeping attributes, so the program evaluated is exactly the one the artifact reloads.
    """
    for predictor in program.predictors():
        predictor.lm = None
    fresh.load_state(program.dump_state())
    return fresh
