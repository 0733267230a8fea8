"""The library's two main jobs on a task of the suite: evaluate a student, compile with PLD.

The CLI is a thin shell over these functions; they are the Python API for the same work.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import dspy

from pld.artifacts.artifact import write_artifact
from pld.artifacts.report_markdown import render_report_markdown
from pld.backends.endpoint_stats import endpoint_report
from pld.backends.options import DEFAULT_STUDENT, LMOptions, RoleOptions
from pld.config import CompileSettings, DataSource
from pld.evaluate import EvalReport, evaluate_program
from pld.jobs.manifest import artifact_manifest
from pld.jobs.setup import job_data, job_lms, student_options
from pld.metrics import macro_f1
from pld.optimizer import PLD
from pld.pipeline.embedders import make_embedder
from pld.tracking import log_artifact_folder

logger = logging.getLogger(__name__)


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
    data = job_data(task_name, {split: limit}, seed=seed, data_dir=data_dir, source=source)
    task = data.task
    bound = program.predictors()[0].lm if program is not None else None  # an artifact's program comes bound
    lm = bound or job_lms(task, None, student, options)[1]
    program = program or task.make_program(strategy)
    metric = macro_f1(task.label_field, task.labels)
    return evaluate_program(program, data.samples[split], lm, metric, num_threads=num_threads,
                            progress=f"{task.name} {split}")


def compile_task(task_name: str, out: str | Path, settings: CompileSettings,
                 options: LMOptions | RoleOptions | None = None) -> Path:
    """Compile the task's student program with PLD and write an artifact to ``out``.

    ``options`` apply to both models, or per role as ``RoleOptions`` (a teacher and a student on
    different servers). ``settings.pld.seed`` seeds the splits and samples as well as the optimizer.
    """
    data = job_data(task_name, {"train": settings.n_train, "val": settings.n_val}, seed=settings.pld.seed,
                    data_dir=settings.data_dir, source=settings.source)
    task = data.task
    embedder = make_embedder(settings.embedder)  # a missing extra fails here, before any model loads
    roles = RoleOptions.of(options)
    decoding = student_options(task, settings.student, roles.student)  # settled once: LMs and manifest agree
    teacher_lm, student_lm = job_lms(task, settings.teacher, settings.student, dataclasses.replace(roles, student=decoding))
    optimizer = PLD(teacher_lm=teacher_lm, student_lm=student_lm, metric=macro_f1(task.label_field, task.labels),
                    embedder=embedder, config=settings.pld)
    compiled = optimizer.compile(task.make_program(settings.strategy), trainset=data.train, valset=data.val)
    report = compiled.pld_report
    report.endpoints = endpoint_report({"teacher": teacher_lm, "student": student_lm})
    manifest = artifact_manifest(
        task=task.name, signature=task.signature, label_field=task.label_field, labels=task.labels,
        teacher_model=settings.teacher, student_model=settings.student, teacher_lm=teacher_lm, student_lm=student_lm,
        data={"train": data.train, "val": data.val},
        student_options={"label_mode": decoding.label_mode, "calibrate": decoding.calibrate,
                         **({"chat_format": decoding.chat_format} if decoding.chat_format else {})},
        strategy=settings.strategy, rules=[rule.model_dump() for rule in report.rules],
        baseline_val_macro_f1=report.baseline_val_macro_f1, final_val_macro_f1=report.final_val_macro_f1,
        costs={"totals": report.totals, "seconds": {k: v.seconds for k, v in report.phases.items()}},
        embedder=settings.embedder,
    )
    files = {
        "report.json": report.model_dump_json(indent=2),
        "report.md": render_report_markdown(task.name, manifest["backends"]["teacher"].describe(),
                                            manifest["backends"]["student"].describe(), report),
    }
    path = write_artifact(out, compiled, files, manifest)
    log_artifact_folder(compiled, path)  # MLflow: into the run the compile was logged to
    logger.info("wrote %s", path)
    return path
