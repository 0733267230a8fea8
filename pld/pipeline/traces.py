"""Rationale traces: one teacher call per training example, label-conditioned or label-free.

The same collection serves the optimizer and the fine-tuning data export, and goes through
DSPy's response cache, so traces collected once are free the second time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import dspy
from tqdm.auto import tqdm

from pld.budget import CallBudget
from pld.errors import BudgetExceeded
from pld.faults import raise_if_backend_fault, redact
from pld.rules import Trace, example_key, generalize_rule
from pld.pipeline.teacher import Teacher

logger = logging.getLogger(__name__)

TraceMode = Literal["label-conditioned", "label-free"]
MAX_FIELD_CHARS = 3000


def describe_task(instructions: str, label_field: str, labels: Sequence[str]) -> str:
    """The task as the teacher reads it: the program's own instructions and the label set."""
    return f"{instructions.strip()}\nThe answer field is `{label_field}`, one of: {', '.join(labels)}."


def program_task(program: dspy.Module, label_field: str, labels: Sequence[str]) -> str:
    """The task as the teacher reads it for ``program``: one text, so every caller shares cache entries."""
    from pld.pipeline.render import base_instructions

    return describe_task(next(iter(base_instructions(program).values()), ""), label_field, labels)


def render_example(example: dspy.Example, max_chars: int = MAX_FIELD_CHARS) -> str:
    """An example's inputs as ``field: value`` lines; very long values are cut for the teacher."""
    lines = []
    for name, value in example.inputs().items():
        text = str(value)
        if len(text) > max_chars:
            text = text[:max_chars] + " […]"
        lines.append(f"{name}: {text}")
    return "\n".join(lines)


def collect_traces(
    teacher: Teacher,
    teacher_lm: dspy.BaseLM,
    examples: Sequence[dspy.Example],
    *,
    task: str,
    label_field: str,
    mode: TraceMode = "label-conditioned",
    budget: CallBudget | None = None,
    progress: bool = True,
) -> list[Trace]:
    """One trace per example; a failed teacher call is logged and skipped, a spent budget stops."""
    traces: list[Trace] = []
    for example in tqdm(examples, desc="teacher traces", disable=not progress, leave=False):
        gold = example.get(label_field) if label_field in example.keys() else None
        if mode == "label-conditioned" and gold is None:
            raise ValueError(
                f"label-conditioned traces need the gold label in field {label_field!r}; "
                "use mode='label-free' for unlabeled examples"
            )
        try:
            if budget is not None:
                budget.charge()
            with dspy.context(lm=teacher_lm):
                result = teacher(task=task, example=render_example(example),
                                 label=str(gold) if mode == "label-conditioned" else None)
        except BudgetExceeded:
            logger.warning("teacher budget spent after %d traces", len(traces))
            break
        except Exception as exc:  # noqa: BLE001 - one bad teacher answer must not end the run
            raise_if_backend_fault(exc, teacher_lm)  # ...but a teacher that cannot answer at all does
            logger.warning("teacher trace failed for one example: %s", redact(str(exc)))
            continue
        traces.append(_trace(example, mode, gold, result))
    return traces


def _trace(example: dspy.Example, mode: TraceMode, gold: Any, result: dspy.Prediction) -> Trace:
    return Trace(
        example_key=example_key(example),
        example_id=str(example.get("id")) if "id" in example.keys() else None,
        inputs={k: str(v) for k, v in example.inputs().items()},
        mode=mode,
        gold_label=None if gold is None else str(gold),
        teacher_label=None if result.label is None else str(result.label),
        rationale=str(result.reasoning or "").strip(),
        micro_rule=generalize_rule(str(result.rule or "").strip(), example.inputs()),
    )


def teacher_accuracy(traces: Sequence[Trace]) -> float | None:
    """How often a label-free teacher agreed with gold, where gold exists."""
    judged = [t for t in traces if t.gold_label is not None and t.mode == "label-free"]
    if not judged:
        return None
    return sum(t.teacher_label == t.gold_label for t in judged) / len(judged)
