"""``compare``: the comparison on a task of the suite, with models named by spec (what the CLI runs)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pld.compare.method import Method
from pld.compare.results import CompareReport
from pld.compare.runner import run_comparison
from pld.compare.settings import CompareSettings
from pld.jobs.setup import job_data, student_options
from pld.backends.lm import make_lm
from pld.backends.options import LMOptions, RoleOptions
from pld.metrics import macro_f1
from pld.tasks import Splits


def compare(settings: CompareSettings, out: str | Path, options: LMOptions | RoleOptions | None = None, *,
            methods: Sequence[str | Method] | None = None) -> CompareReport:
    """Load the task's seeded splits, build the two LMs, and compare ``settings.methods``.

    ``methods`` replaces ``settings.methods`` with built-in names and ``Method`` objects of your
    own, e.g. ``methods=["zero-shot", Method("mine", "my optimizer", my_compile), "pld"]``.

    ``options`` apply to both models, or per role as ``RoleOptions`` (a teacher and a student on
    different servers); ``settings.student_max_tokens``, when set, is the student's token cap.

    Teacher and student are separate LM objects even when they name the same model (the embedded
    backend then shares one loaded model), so every call is counted under one role.
    """
    data = job_data(settings.task, {"train": settings.n_train, "val": settings.n_val, "test": settings.n_test},
                    seed=settings.seed, data_dir=settings.data_dir)
    task = data.task
    # No fixed per-request seed: at temperature 0 it changes nothing, and at temperature > 0 (SIMBA's
    # resampling, COPRO's and MIPROv2's n proposals) it would make every sample identical. The
    # response cache keeps re-runs reproducible.
    roles = RoleOptions.of(options)
    teacher_options = roles.teacher.replace(seed=None)
    student_options_ = student_options(task, settings.student, roles.student).replace(seed=None)
    splits = Splits(train=data.train, val=data.val, test=data.test)
    if settings.student_max_tokens is not None:
        student_options_ = student_options_.replace(max_tokens=settings.student_max_tokens)
    teacher_lm = make_lm(settings.teacher, teacher_options)
    student_lm = make_lm(settings.student, student_options_)
    return run_comparison(
        settings.model_copy(update={"task": task.name}), splits=splits, make_program=task.make_program,
        student_lm=student_lm, teacher_lm=teacher_lm, metric=macro_f1(task.label_field, task.labels), out=out,
        methods=methods,
    )
