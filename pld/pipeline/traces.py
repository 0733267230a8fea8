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
from pld.errors import BackendError, BudgetExceeded
from pld.faults import raise_if_backend_fault, redact
from pld.rules import Trace, example_key, generalize_rule
from pld.pipeline.teacher import Contrast, Teacher

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
    contrast: bool = False,
    failures: list[str] | None = None,
) -> list[Trace]:
    """One trace per example; a failed teacher call is logged, recorded in ``failures`` and
    skipped, a spent budget stops. When more than half the calls fail (three at least), the
    teacher is broken rather than unlucky: ``BackendError``."""
    traces: list[Trace] = []
    categories = categorical_fields(examples)
    contrasts = find_contrasts(examples, label_field) if mode == "label-conditioned" and contrast else {}
    failed = 0
    for index, example in enumerate(tqdm(examples, desc="teacher traces", disable=not progress, leave=False)):
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
                                 label=str(gold) if mode == "label-conditioned" else None,
                                 contrast=contrasts.get(index))
        except BudgetExceeded:
            logger.warning("teacher budget spent after %d traces", len(traces))
            break
        except Exception as exc:  # noqa: BLE001 - one bad teacher answer must not end the run
            raise_if_backend_fault(exc, teacher_lm)  # ...but a teacher that cannot answer at all does
            message = redact(str(exc))
            logger.warning("teacher trace failed for one example: %s", message)
            if failures is not None:
                failures.append(message)
            failed += 1
            if failed >= 3 and failed > (index + 1) / 2:
                raise BackendError(f"the teacher failed on {failed} of {index + 1} traces (last: {message[:200]}); "
                                   "check it with `pld doctor`") from exc
            continue
        traces.append(_trace(example, mode, gold, result, categories))
    return traces


def find_contrasts(examples: Sequence[dspy.Example], label_field: str,
                   max_chars: int = 600) -> dict[int, Contrast]:
    """For each example, the most similar other example (TF-IDF cosine over its rendered inputs)
    whose gold label differs: what changed between them is what decides the label. Examples with
    no differently labelled partner get none."""
    if len(examples) < 2:
        return {}
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    texts = [render_example(example) for example in examples]
    similarity = cosine_similarity(TfidfVectorizer().fit_transform(texts))
    gold = [str(example.get(label_field)) for example in examples]
    contrasts: dict[int, Contrast] = {}
    for index, example in enumerate(examples):
        others = [j for j in range(len(examples)) if gold[j] != gold[index]]
        if not others:
            continue
        best = max(others, key=lambda j: (similarity[index, j], -j))
        partner = examples[best]
        contrasts[index] = Contrast(text=f"{render_example(partner, max_chars)}\n{label_field}: {gold[best]}",
                                    differences=_differences(example, partner))
    return contrasts


def _differences(example: dspy.Example, partner: dspy.Example) -> str:
    """``plan: Enterprise here, Starter there; message`` — short values shown, long ones named."""
    parts = []
    for name, value in example.inputs().items():
        other = partner.get(name)
        if str(value) == str(other):
            continue
        short = len(str(value).split()) <= 4 and len(str(other).split()) <= 4
        parts.append(f"{name}: {value} here, {other} there" if short else name)
    return "; ".join(parts) or "none"


def trace_sample(examples: Sequence[dspy.Example], label_field: str, n: int | None, seed: int) -> list[dspy.Example]:
    """The examples the teacher traces: all, or a label-balanced seeded sample of ``n`` (every
    example still counts for mined rules and repair)."""
    if n is None or n >= len(examples):
        return list(examples)
    from pld.programs import balanced_sample

    labelled = all(label_field in example.keys() for example in examples)
    return balanced_sample(examples, n, label_field, seed) if labelled else list(examples[:n])


def categorical_fields(examples: Sequence[dspy.Example]) -> frozenset[str]:
    """Input fields whose values recur across the examples (a plan, a channel, a payment method):
    a rule that names such a value states a policy, not one example's entity, so it is kept as
    written. Fields with (nearly) one value per example (a StereoSet target) are not categories."""
    if len(examples) < 4:
        return frozenset()
    values: dict[str, set[str]] = {}
    for example in examples:
        for name, value in example.inputs().items():
            values.setdefault(name, set()).add(str(value).strip().lower())
    limit = max(6, len(examples) // 4)
    return frozenset(name for name, seen in values.items() if len(seen) <= limit and len(seen) < len(examples) / 2)


def _trace(example: dspy.Example, mode: TraceMode, gold: Any, result: dspy.Prediction,
           categories: frozenset[str] = frozenset()) -> Trace:
    return Trace(
        example_key=example_key(example),
        example_id=str(example.get("id")) if "id" in example.keys() else None,
        inputs={k: str(v) for k, v in example.inputs().items()},
        mode=mode,
        gold_label=None if gold is None else str(gold),
        teacher_label=None if result.label is None else str(result.label),
        rationale=str(result.reasoning or "").strip(),
        micro_rule=generalize_rule(str(result.rule or "").strip(),
                                   {k: v for k, v in example.inputs().items() if k not in categories}),
    )


def teacher_accuracy(traces: Sequence[Trace]) -> float | None:
    """How often a label-free teacher agreed with gold, where gold exists."""
    judged = [t for t in traces if t.gold_label is not None and t.mode == "label-free"]
    if not judged:
        return None
    return sum(t.teacher_label == t.gold_label for t in judged) / len(judged)
