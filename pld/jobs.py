"""The library's two main jobs on a task of the suite: evaluate a student, compile with PLD.

The CLI is a thin shell over these functions; they are the Python API for the same work.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from pathlib import Path

import dspy

from pld.artifacts.artifact import fingerprint, write_artifact
from pld.artifacts.backend_records import BackendRecord, backend_record
from pld.evaluate import EvalReport, evaluate_program
from pld.backends.base import model_digests
from pld.backends.lm import make_lm
from pld.backends.options import DEFAULT_STUDENT, LMOptions, RoleOptions
from pld.backends.endpoint_stats import endpoint_report
from pld.config import CompileSettings, DataSource
from pld.metrics import macro_f1
from pld.optimizer import PLD
from pld.pipeline.embedders import make_embedder
from pld.artifacts.report_markdown import render_report_markdown
from pld.tasks import Task, balanced_sample, get_task
from pld.tracking import log_artifact_folder

__all__ = ["CompileSettings", "compile_task", "evaluate_task", "sample"]  # CompileSettings lives in pld.config

logger = logging.getLogger(__name__)


def sample(task: Task, examples: list[dspy.Example], n: int | None, seed: int) -> list[dspy.Example]:
    """A label-balanced, seeded sample; whole list when ``n`` is None or larger."""
    if n is None or n >= len(examples):
        return examples
    group = task.group_field if task.group_sampling else None
    return balanced_sample(examples, n, task.label_field, seed, group_field=group)


def evaluate_task(
    task_name: str,
    student: str = DEFAULT_STUDENT,
    *,
    split: str = "test",
    limit: int | None = None,
    strategy: str = "zero-shot",
    data_dir: str | None = None,
    source: DataSource = "files",
    seed: int = 0,
    options: LMOptions | None = None,
    num_threads: int | None = 1,
    program: dspy.Module | None = None,
) -> EvalReport:
    """Score ``program`` (an artifact's, bound to its student) or the task's plain program with
    ``student`` built from ``options`` on a seeded, label-balanced sample of ``split``."""
    task = get_task(task_name)
    splits = task.load_splits(data_dir, seed=seed, source=source)
    examples = sample(task, getattr(splits, split), limit, seed)
    bound = program.predictors()[0].lm if program is not None else None  # an artifact's program comes bound
    lm = bound or make_lm(student, task.default_options(student, options or LMOptions()))
    program = program or task.make_program(strategy)
    metric = macro_f1(task.label_field, task.labels)
    return evaluate_program(program, examples, lm, metric, num_threads=num_threads, progress=f"{task.name} {split}")


def compile_task(task_name: str, out: str | Path, settings: CompileSettings,
                 options: LMOptions | RoleOptions | None = None) -> Path:
    """Compile the task's student program with PLD and write an artifact to ``out``.

    ``options`` apply to both models, or per role as ``RoleOptions`` (a teacher and a student on
    different servers). ``settings.pld.seed`` seeds the splits and samples as well as the optimizer.
    """
    task = get_task(task_name)
    roles = RoleOptions.of(options)
    roles = dataclasses.replace(roles, student=task.default_options(settings.student, roles.student))
    seed = settings.pld.seed
    splits = task.load_splits(settings.data_dir, seed=seed, source=settings.source)
    trainset = sample(task, splits.train, settings.n_train, seed)
    valset = sample(task, splits.val, settings.n_val, seed)
    embedder = make_embedder(settings.embedder)  # a missing extra fails here, before any model loads
    teacher_lm = make_lm(settings.teacher, roles.teacher)
    same = settings.student == settings.teacher and roles.student == roles.teacher
    student_lm = teacher_lm if same else make_lm(settings.student, roles.student)
    optimizer = PLD(teacher_lm=teacher_lm, student_lm=student_lm, metric=macro_f1(task.label_field, task.labels),
                    embedder=embedder, config=settings.pld)
    compiled = optimizer.compile(task.make_program(settings.strategy), trainset=trainset, valset=valset)
    report = compiled.pld_report
    report.endpoints = endpoint_report({"teacher": teacher_lm, "student": student_lm})
    digests = model_digests({"teacher": teacher_lm, "student": student_lm})
    backends = {"teacher": backend_record(teacher_lm), "student": backend_record(student_lm)}
    manifest = dict(
        task=task.name, strategy=settings.strategy, signature=f"{task.signature.__module__}.{task.signature.__name__}",
        label_field=task.label_field, labels=list(task.labels),
        rules=[rule.model_dump() for rule in report.rules],
        baseline_val_macro_f1=report.baseline_val_macro_f1, final_val_macro_f1=report.final_val_macro_f1,
        teacher_model=settings.teacher, student_model=settings.student, model_digests=digests,
        data_fingerprints={"train": fingerprint(trainset), "val": fingerprint(valset)},
        costs={"totals": report.totals, "seconds": {k: v.seconds for k, v in report.phases.items()}},
        student_options={"label_mode": roles.student.label_mode, "calibrate": roles.student.calibrate},
        embedder=settings.embedder,
        backends=backends,
        engine=_engine_build(backends.values()),
    )
    files = {
        "report.json": report.model_dump_json(indent=2),
        "report.md": render_report_markdown(task.name, backends["teacher"].describe(), backends["student"].describe(),
                                            report),
    }
    path = write_artifact(out, compiled, files, manifest)
    log_artifact_folder(compiled, path)  # MLflow: into the run the compile was logged to
    logger.info("wrote %s", path)
    return path


def _engine_build(records: Iterable[BackendRecord]) -> dict[str, str]:
    """The embedded engine's build, when a role ran on it (scores near label ties depend on it)."""
    if not any(record.kind == "local" for record in records):
        return {}
    from pld.backends.local.probe import engine_build

    return engine_build()
