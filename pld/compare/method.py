"""What a comparison method is: how it compiles a student, and with what settings.

Every method gets the same ``MethodContext`` (student program, student and teacher LMs, the same
train/validation split, the same per-example metric, seed and student-call budget) so that the
comparison differs only in the optimizer. ``settings`` is computed before ``compile`` runs, so a
method that fails still records what it was asked to do. The built-in methods are listed in
``pld.compare.methods``; a method of your own is a ``Method`` passed to ``compare`` or
``run_comparison``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import dspy

from pld.metrics import MacroF1

Strategy = Literal["zero-shot", "cot"]


class MethodUnavailable(RuntimeError):
    """A method's optional dependency is missing: reported as ``unavailable``, retried on every run."""


@dataclass(frozen=True)
class MethodContext:
    """What every method compiles with; identical across methods except ``student``'s strategy."""

    student: dspy.Module
    student_lm: dspy.BaseLM
    teacher_lm: dspy.BaseLM
    trainset: Sequence[dspy.Example]
    valset: Sequence[dspy.Example]
    metric: MacroF1
    seed: int
    budget: int

    @property
    def train_and_val(self) -> list[dspy.Example]:
        """For optimizers that take one data set: all the labelled data the others see."""
        return [*self.trainset, *self.valset]


SettingsFn = Callable[[MethodContext], dict[str, Any]]
CompileFn = Callable[[MethodContext, dict[str, Any]], dspy.Module]


def no_settings(ctx: MethodContext) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Method:
    """One row of the comparison.

    Args:
        name: the method's key and row label, e.g. ``"copro"``.
        description: one line for the report.
        compile: ``(ctx, settings) -> compiled program``; runs with the student as the default LM.
        settings: ``ctx -> dict`` of the settings ``compile`` uses (recorded in the results).
        strategy: the student program the method starts from (``"cot"`` only for chain of thought).
        requires: importable modules the method needs; missing ones make it ``unavailable``.
    """

    name: str
    description: str
    compile: CompileFn
    settings: SettingsFn = no_settings
    strategy: Strategy = "zero-shot"
    requires: tuple[str, ...] = field(default=())
