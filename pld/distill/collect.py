"""Teacher labels and rationales for fine-tuning a student (Vöge, Gurgul & Lessmann, 2403.15886).

Rationales come from the optimizer's own ``collect_traces`` with the same prompts, so a run over
examples a ``pld compile`` already traced is answered by DSPy's response cache. Examples that keep
no rationale cost no teacher call with gold labels, and one label-only call without them.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass

import dspy
from tqdm.auto import tqdm

from pld.distill.costs import TeacherCall, compare_k_shot, count_calls, tokenizer_for
from pld.distill.records import DROP_REASONS, DistillCosts, DistillRecord, DistillReport, TokenCount, drop_reason
from pld.errors import ConfigError
from pld.rules import Trace, example_key
from pld.pipeline.teacher import Teacher
from pld.pipeline.traces import TraceMode, collect_traces, program_task, render_example
from pld.usage import UsageCounter, counting

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistillData:
    """The records of an export, the teacher calls behind them, and the report."""

    records: list[DistillRecord]
    calls: list[TeacherCall]
    task_description: str
    report: DistillReport


task_description = program_task  # the same text ``PLD.compile`` uses, hence the same cache entries


def check_fraction(rationale_fraction: float) -> float:
    if not 0 < rationale_fraction <= 1:
        raise ConfigError(f"rationale fraction must be in (0, 1], got {rationale_fraction}; "
                          "e.g. 0.5 keeps rationales on half of the examples.")
    return float(rationale_fraction)


def choose_rationale_examples(n: int, rationale_fraction: float, seed: int) -> set[int]:
    """Indices of the examples that keep a rationale: a seeded shuffle, then the first
    ``round(fraction * n)`` (at least one). A larger fraction keeps a superset."""
    check_fraction(rationale_fraction)
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return set(order[: max(1, round(rationale_fraction * n))]) if n else set()


def build_distill_data(
    examples: Sequence[dspy.Example],
    teacher_lm: dspy.BaseLM,
    *,
    task: str,
    label_field: str,
    labels: Sequence[str],
    unlabeled: bool = False,
    rationale_fraction: float = 1.0,
    seed: int = 0,
    k_shot: int = 5,
    progress: bool = True,
) -> DistillData:
    """Teacher labels and rationales for ``examples``, filtered, with a cost report.

    Args:
        examples: The inputs; gold labels in ``label_field`` are required unless ``unlabeled``.
        teacher_lm: The teacher LM; give it ``cache=True`` to reuse earlier traces.
        task: The task as the teacher reads it (``task_description`` of the student program).
        label_field: The label's field name.
        labels: The full label set, in the order the optimizer uses.
        unlabeled: The teacher predicts the label (label-free traces); gold only judges it.
        rationale_fraction: Share of examples that keep a rationale, in (0, 1].
        seed: Seeds the choice of those examples and of the k-shot demos.
        k_shot: Demos in the k-shot prompt the zero-shot prompts are compared with (0: skip).
        progress: Show progress bars.
    """
    check_fraction(rationale_fraction)
    if not examples:
        raise ConfigError("no examples to distil: pass a non-empty list of dspy.Example.")
    mode: TraceMode = "label-free" if unlabeled else "label-conditioned"
    if not unlabeled and any(label_field not in ex.keys() for ex in examples):
        raise ConfigError(f"some examples have no {label_field!r} label; use unlabeled=True (--unlabeled) "
                          "so that the teacher predicts the label.")
    teacher = Teacher(labels)
    chosen = choose_rationale_examples(len(examples), rationale_fraction, seed)
    with counting({"teacher": teacher_lm}, phase="rationales", keep_completions=True) as usage:
        traces = collect_traces(teacher, teacher_lm, [ex for i, ex in enumerate(examples) if i in chosen],
                                task=task, label_field=label_field, mode=mode, progress=progress)
        usage.phase = "labels"
        label_only = {}
        if unlabeled:
            skipped = [ex for i, ex in enumerate(examples) if i not in chosen]
            label_only = _label_only(teacher, teacher_lm, skipped, task, progress)

    by_key = {(t.example_key, t.gold_label): t for t in traces}
    records: list[DistillRecord] = []
    calls: list[TeacherCall] = []
    for index, example in enumerate(examples):
        gold = str(example[label_field]) if label_field in example.keys() else None
        key, text = example_key(example), render_example(example)
        if index in chosen:
            trace = by_key.get((key, gold))
            record = _record(example, key, text, mode, gold, trace)
            if trace is not None:
                calls.append(_rationale_call(teacher, mode, task, text, trace))
        else:
            label = label_only.get(key) if unlabeled else gold
            record = _record(example, key, text, mode, gold, None, label=label, rationale=False)
            if unlabeled and label is not None:
                calls.append(TeacherCall("label", teacher.label_only.signature, {"task": task, "example": text},
                                         {"label": label}))
        records.append(record.model_copy(update={"drop_reason": drop_reason(record, labels)}))

    costs = _costs(usage, calls, teacher_lm, len(examples), len(examples) - len(chosen), k_shot, seed)
    dropped = {reason: sum(r.drop_reason == reason for r in records) for reason in DROP_REASONS}
    judged = [r for r in records if unlabeled and r.gold_label is not None and r.teacher_label is not None]
    report = DistillReport(
        teacher_model=str(getattr(teacher_lm, "model", type(teacher_lm).__name__)), mode=mode,
        label_field=label_field, labels=list(labels), n_examples=len(examples),
        rationale_fraction=rationale_fraction, seed=seed, rationales_requested=len(chosen),
        kept=sum(r.kept for r in records), kept_with_rationale=sum(r.kept and r.rationale is not None for r in records),
        dropped=dropped,
        teacher_accuracy=sum(r.teacher_label == r.gold_label for r in judged) / len(judged) if judged else None,
        costs=costs,
    )
    logger.info("distillation data: %d of %d examples kept, %d new teacher calls",
                report.kept, report.n_examples, costs.new_teacher_calls)
    return DistillData(records=records, calls=calls, task_description=task, report=report)


def _label_only(teacher: Teacher, teacher_lm: dspy.BaseLM, examples: Sequence[dspy.Example],
                task: str, progress: bool) -> dict[str, str]:
    """The teacher's label for each example, without a rationale; a failed call is left out."""
    labels: dict[str, str] = {}
    for example in tqdm(examples, desc="teacher labels", disable=not progress, leave=False):
        try:
            with dspy.context(lm=teacher_lm):
                labels[example_key(example)] = teacher.predict_label(task, render_example(example))
        except Exception as exc:  # noqa: BLE001 - one bad teacher answer must not end the run
            from pld.faults import raise_if_backend_fault, redact

            raise_if_backend_fault(exc, teacher_lm)  # ...but a teacher that cannot answer at all does
            logger.warning("teacher label failed for one example: %s", redact(str(exc)))
    return labels


def _record(example: dspy.Example, key: str, text: str, mode: TraceMode, gold: str | None, trace: Trace | None,
            *, label: str | None = None, rationale: bool = True) -> DistillRecord:
    has_id = "id" in example.keys()
    return DistillRecord(
        id=str(example["id"]) if has_id else key, example_key=key,
        inputs={k: str(v) for k, v in example.inputs().items()}, input_text=text, mode=mode, gold_label=gold,
        teacher_label=trace.teacher_label if trace is not None else label,
        rationale=(trace.rationale if trace is not None else "") if rationale else None,
        micro_rule=trace.micro_rule if trace is not None else None,
    )


def _rationale_call(teacher: Teacher, mode: TraceMode, task: str, text: str, trace: Trace) -> TeacherCall:
    outputs = {"reasoning": trace.rationale, "rule": trace.micro_rule}
    if mode == "label-conditioned":
        return TeacherCall("rationale", teacher.explain.signature,
                           {"task": task, "example": text, "label": str(trace.gold_label)}, outputs)
    return TeacherCall("rationale", teacher.predict_and_explain.signature, {"task": task, "example": text},
                       {"reasoning": trace.rationale, "label": str(trace.teacher_label), "rule": trace.micro_rule})


def _costs(usage: UsageCounter, calls: list[TeacherCall], teacher_lm: dspy.BaseLM,
           n_examples: int, skipped: int, k_shot: int, seed: int) -> DistillCosts:
    records = [record for record in usage.records if record.role == "teacher"]
    hits = sum(record.cache_hit for record in records)
    new = [record for record in records if not record.cache_hit]
    tokenizer = tokenizer_for(teacher_lm)
    rationale = count_calls([c for c in calls if c.kind == "rationale"], usage.completions(phase="rationales"),
                            tokenizer)
    label = count_calls([c for c in calls if c.kind == "label"], usage.completions(phase="labels"), tokenizer)
    data = TokenCount(calls=rationale.calls + label.calls,
                      prompt_tokens=rationale.prompt_tokens + label.prompt_tokens,
                      completion_tokens=rationale.completion_tokens + label.completion_tokens)
    saving = None
    if rationale.calls:
        per_rationale = (rationale.prompt_tokens + rationale.completion_tokens) / rationale.calls
        per_label = (label.prompt_tokens + label.completion_tokens) / label.calls if label.calls else 0.0
        saving = round(skipped * (per_rationale - per_label))
    return DistillCosts(
        teacher_calls=len(records), new_teacher_calls=len(new), cache_hits=hits,
        spent=TokenCount(calls=len(new), prompt_tokens=sum(r.input_tokens for r in new),
                         completion_tokens=sum(r.output_tokens for r in new)),
        data=data,
        data_per_example={"calls": round(data.calls / n_examples, 3),
                          "prompt_tokens": round(data.prompt_tokens / n_examples, 1),
                          "completion_tokens": round(data.completion_tokens / n_examples, 1)},
        rationale_calls=rationale, label_only_calls=label, skipped_rationales=skipped,
        rationale_saving_tokens=saving, k_shot=compare_k_shot(calls, tokenizer, k_shot, seed),
    )
