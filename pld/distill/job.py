"""``distill_data``: fine-tuning data for a task of the suite, as ``pld distill-data`` runs it.

Defaults pick the very examples ``pld compile`` traces (same split, count, seed and sampler) and
build the teacher the same way, so an export after a compile costs no new teacher calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pld.distill.collect import DistillData, build_distill_data, check_fraction, task_description
from pld.distill.export import write_distill_data
from pld.errors import ConfigError
from pld.config import CompileSettings, PLDConfig
from pld.jobs.setup import SPLIT_NAMES as SPLITS
from pld.jobs.setup import job_data, job_lms
from pld.backends.options import DEFAULT_TEACHER, LMOptions
_COMPILE = CompileSettings()


@dataclass(frozen=True)
class DistillSettings:
    """What ``pld distill-data`` runs with; ``n_examples=None`` takes the whole split.

    The trace settings are PLD's own (``pld``): ``trace_mode`` ("label-free": the teacher predicts
    the label, the CLI's ``--unlabeled``), ``seed`` (samples, rationale choice) and ``progress``.
    A compile's ``CompileSettings.pld`` exports the very examples that compile traced.
    """

    teacher: str = DEFAULT_TEACHER
    rationale_fraction: float = 1.0
    split: str = "train"
    n_examples: int | None = _COMPILE.n_train
    k_shot: int = 5
    strategy: str = _COMPILE.strategy
    data_dir: str | None = None
    source: str = "files"  # or "hub", as `Task.load_splits`
    pld: PLDConfig = _COMPILE.pld

    @property
    def unlabeled(self) -> bool:
        return self.pld.trace_mode == "label-free"


def distill_data(task_name: str, out: str | Path, settings: DistillSettings,
                 options: LMOptions | None = None) -> tuple[DistillData, Path]:
    """Export teacher labels and rationales for a task's examples to ``out``; return the data and path."""
    check_fraction(settings.rationale_fraction)
    if settings.split not in SPLITS:
        raise ConfigError(f"unknown split {settings.split!r}; use one of {', '.join(SPLITS)}")
    if settings.n_examples is not None and settings.n_examples < 1:
        raise ConfigError(f"number of examples must be at least 1, got {settings.n_examples}")
    data = job_data(task_name, {settings.split: settings.n_examples}, seed=settings.pld.seed,
                    data_dir=settings.data_dir, source=settings.source)  # type: ignore[arg-type]
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
