"""One job setup for every command that runs on a task of the suite (compile, evaluate, compare,
distill): the task, its splits sampled by the task's own rules, and the models with the task's
defaults settled. Driven by what the task declares (``Task.group_sampling``, ``Task.calibrate``),
never by its name."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import get_args

import dspy

from pld.backends.lm import make_lm, resolve_turn_format
from pld.backends.options import LMOptions, RoleOptions
from pld.config import DataSource, Split
from pld.tasks import Task, balanced_sample, get_task

SPLIT_NAMES: tuple[str, ...] = get_args(Split)


def sample(task: Task, examples: list[dspy.Example], n: int | None, seed: int) -> list[dspy.Example]:
    """A label-balanced, seeded sample (whole groups where the task samples by group); the whole
    list when ``n`` is None or larger."""
    if n is None or n >= len(examples):
        return examples
    group = task.group_field if task.group_sampling else None
    return balanced_sample(examples, n, task.label_field, seed, group_field=group)


@dataclass(frozen=True)
class JobData:
    """A task and the seeded samples of its splits that a job runs on (only the splits asked for)."""

    task: Task
    samples: Mapping[str, list[dspy.Example]]

    def __getattr__(self, name: str) -> list[dspy.Example]:
        samples = self.__dict__.get("samples", {})
        if name in samples:
            return samples[name]
        raise AttributeError(name)


def job_data(task_name: str, sizes: Mapping[str, int | None], *, seed: int, data_dir: str | None = None,
             source: DataSource = "files") -> JobData:
    """The task and a seeded sample of each split in ``sizes`` (``train``, ``val``, ``test``; None: all)."""
    unknown = sorted(set(sizes) - set(SPLIT_NAMES))
    if unknown:
        raise ValueError(f"unknown split(s) {', '.join(unknown)}; use {', '.join(SPLIT_NAMES)}")
    task = get_task(task_name)
    splits = task.load_splits(data_dir, seed=seed, source=source)
    return JobData(task, {name: sample(task, getattr(splits, name), n, seed) for name, n in sizes.items()})


def student_options(task: Task, spec: str, options: LMOptions | None) -> LMOptions:
    """The student's options with the server's turn format found (``resolve_turn_format``) and the
    task's defaults settled (calibration where its engine can)."""
    return task.default_options(spec, resolve_turn_format(spec, options or LMOptions()))


def job_lms(task: Task, teacher: str | None, student: str | None,
            options: LMOptions | RoleOptions | None = None) -> tuple[dspy.BaseLM | None, dspy.BaseLM | None]:
    """The teacher and student LMs a job needs (None for a role it does not have). One spec with the
    same options is one LM, so an embedded model loads once and its calls count once."""
    roles = RoleOptions.of(options)
    roles = dataclasses.replace(roles, student=student_options(task, student, roles.student)) if student else roles
    teacher_lm = make_lm(teacher, roles.teacher) if teacher else None
    if student is None:
        return teacher_lm, None
    same = teacher_lm is not None and student == teacher and roles.student == roles.teacher
    return teacher_lm, teacher_lm if same else make_lm(student, roles.student)
