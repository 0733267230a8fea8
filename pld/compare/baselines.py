"""The paper's baselines: zero-shot, zero-shot chain of thought, and 5-shot with labelled examples."""

from __future__ import annotations

from typing import Any

import dspy

from pld.compare.method import Method, MethodContext

FEW_SHOT_K = 5  # the PLD paper's few-shot baseline


def _unchanged(ctx: MethodContext, settings: dict[str, Any]) -> dspy.Module:
    return ctx.student.deepcopy()


def _few_shot_settings(ctx: MethodContext) -> dict[str, Any]:
    return {"optimizer": "dspy.LabeledFewShot", "k": FEW_SHOT_K, "sample": True,
            "note": "LabeledFewShot draws its demos with its own random.Random(0), whatever the run's seed"}


def _few_shot(ctx: MethodContext, settings: dict[str, Any]) -> dspy.Module:
    return dspy.LabeledFewShot(k=settings["k"]).compile(ctx.student, trainset=list(ctx.trainset), sample=settings["sample"])


ZERO_SHOT = Method("zero-shot", "the task's instructions, no demos, no reasoning", _unchanged)
COT = Method("cot", "zero-shot chain of thought (dspy.ChainOfThought): reasons before the label", _unchanged,
             strategy="cot")
FEW_SHOT = Method("few-shot", f"{FEW_SHOT_K} labelled training examples as demos (dspy.LabeledFewShot)", _few_shot,
                  _few_shot_settings)
