"""``distill_data``: fine-tuning data for a task of the suite, as ``pld distill-data`` runs it.

Defaults pick the very examples ``pld compile`` traces (same split, count, seed and sampler) and
build the teacher the same way, so an export after a compile costs no new teacher calls.
"""

from __future__ import annotations

from pathlib import Path

from pld.distill.collect import DistillData, build_distill_data, task_description
from pld.distill.export import write_distill_data
from pld.config import DistillSettings
from pld.jobs.setup import job_data, job_lms
from pld.backends.options import LMOptions


def distill_data(task_name: str, out: str | Path, settings: DistillSettings,
                 options: LMOptions | None = None) -> tuple[DistillData, Path]:
    """Export teacher labels and rationales for a task's examples to ``out``; return the data and path."""
    data = job_data(task_name, {settings.split: settings.n_examples}, seed=settings.pld.seed,
                    data_dir=settings.data_dir, source=settings.source)
    task, examples = data.task, data.samples[settings.split]
    teacher_lm, _ = job_lms(task, settings.teacher, None, options)
    data = build_distill_data(
        examples, teacher_lm,
        task=task_description(task.make_program(settings.strategy), task.label_field, task.labels),
        label_field=task.label_field, labels=task.labels, unlabeled=settings.unlabeled,
        rationale_fraction=settings.rationale_fraction, seed=settings.pld.seed, k_shot=settings.k_shot,
        progress=settings.pld.progress,
    )
    source = {"task": task.name, "split": settings.split, "teacher": settings.teacher, "seed": settings.pld.seed,
              "n_examples": settings.n_examples, "strategy": settings.strategy}
    data = DistillData(records=data.records, calls=data.calls, task_description=data.task_description,
                       report=data.report.model_copy(update={"source": source}))
    return data, write_distill_data(data, out)
