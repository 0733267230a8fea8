"""The library's two main jobs on a task of the suite: evaluate a student, compile with PLD.

The CLI is a thin shell over these functions; they are the Python API for the same work.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import dspy

from pld.artifacts.artifact import fingerprint, write_artifact
from pld.evaluate import EvalReport, evaluate_program
from pld.backends.lm import make_lm
from pld.backends.options import DEFAULT_STUDENT, DEFAULT_TEACHER, LMOptions
from pld.metrics import macro_f1
from pld.optimizer import PLD
from pld.artifacts.report_markdown import render_report_markdown
from pld.tasks import Task, balanced_sample, get_task

logger = logging.getLogger(__name__)


def sample(task: Task, examples: list[dspy.Example], n: int | None, seed: int) -> list[dspy.Example]:
    """A label-balanced, seeded sample; whole list when ``n`` is None or larger."""
    if n is None or n >= len(examples):
        return examples
    group = "doc_id" if task.name == "contract_nli" else None
    return balanced_sample(examples, n, task.label_field, seed, group_field=group)


def evaluate_task(
    task_name: str,
    student: str = DEFAULT_STUDENT,
    *,
    split: str = "test",
    limit: int | None = None,
    strategy: str = "zero-shot",
    data_dir: str | None = None,
    seed: int = 0,
    options: LMOptions | None = None,
    num_threads: int = 1,
    program: dspy.Module | None = None,
) -> EvalReport:
    task = get_task(task_name)
    splits = task.load_splits(data_dir, seed=seed)
    examples = sample(task, getattr(splits, split), limit, seed)
    bound = program.predictors()[0].lm if program is not None else None
    lm = bound or make_lm(student, options)  # an artifact's program comes bound to its student
    program = program or task.make_program(strategy)
    metric = macro_f1(task.label_field, task.labels)
    return evaluate_program(program, examples, lm, metric, num_threads=num_threads, progress=f"{task.name} {split}")


@dataclass(frozen=True)
class CompileSettings:
    """What ``pld compile`` runs with; the defaults fit a 2-core machine in minutes."""

    teacher: str = DEFAULT_TEACHER
    student: str = DEFAULT_STUDENT
    strategy: str = "zero-shot"
    n_train: int | None = 12
    n_val: int | None = 48
    max_candidates: int = 6
    max_rules: int = 3
    min_gain: float = 0.005
    max_repair_rounds: int = 1
    max_teacher_calls: int | None = 60
    max_student_calls: int | None = 900
    trace_mode: str = "label-conditioned"
    selection: str = "auto"
    seed: int = 0
    data_dir: str | None = None


def compile_task(task_name: str, out: str | Path, settings: CompileSettings, options: LMOptions | None = None) -> Path:
    """Compile the task's student program with PLD and write an artifact to ``out``."""
    task = get_task(task_name)
    options = options or LMOptions()
    splits = task.load_splits(settings.data_dir, seed=settings.seed)
    trainset = sample(task, splits.train, settings.n_train, settings.seed)
    valset = sample(task, splits.val, settings.n_val, settings.seed)
    teacher_lm = make_lm(settings.teacher, options)
    student_lm = teacher_lm if settings.student == settings.teacher else make_lm(settings.student, options)
    optimizer = PLD(
        teacher_lm=teacher_lm, student_lm=student_lm, metric=macro_f1(task.label_field, task.labels),
        trace_mode=settings.trace_mode, max_candidates=settings.max_candidates, max_rules=settings.max_rules,
        min_gain=settings.min_gain, max_repair_rounds=settings.max_repair_rounds,
        max_teacher_calls=settings.max_teacher_calls, max_student_calls=settings.max_student_calls, seed=settings.seed,
        selection=settings.selection,
    )
    compiled = optimizer.compile(task.make_program(settings.strategy), trainset=trainset, valset=valset)
    report = compiled.pld_report
    digests = {role: lm.model_sha256 for role, lm in (("teacher", teacher_lm), ("student", student_lm))
               if getattr(lm, "model_sha256", None)}
    digests.update({f"{role}_ollama": lm.pld_model_digest for role, lm in (("teacher", teacher_lm), ("student", student_lm))
                    if getattr(lm, "pld_model_digest", None)})
    manifest = dict(
        task=task.name, strategy=settings.strategy, signature=f"{task.signature.__module__}.{task.signature.__name__}",
        label_field=task.label_field, labels=list(task.labels),
        rules=[rule.model_dump() for rule in report.rules],
        baseline_val_macro_f1=report.baseline_val_macro_f1, final_val_macro_f1=report.final_val_macro_f1,
        teacher_model=settings.teacher, student_model=settings.student, model_digests=digests,
        data_fingerprints={"train": fingerprint(trainset), "val": fingerprint(valset)},
        costs={"totals": report.totals, "seconds": {k: v.seconds for k, v in report.phases.items()}},
        student_options={"label_mode": options.label_mode, "calibrate": options.calibrate},
    )
    files = {
        "report.json": report.model_dump_json(indent=2),
        "report.md": render_report_markdown(task.name, settings.teacher, settings.student, report),
    }
    path = write_artifact(out, compiled, files, manifest)
    logger.info("wrote %s", path)
    return path


def settings_json(settings: CompileSettings) -> str:
    return json.dumps(settings.__dict__, indent=2)
