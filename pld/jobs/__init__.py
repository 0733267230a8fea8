"""Jobs on a task of the suite: one setup (``setup``: task, sampled splits, models with the task's
defaults), one manifest builder (``manifest``), and the compile and evaluate jobs (``tasks``) that
``pld compile``/``pld evaluate`` run; ``pld compare`` and ``pld distill`` use the same setup."""

from pld.config import CompileSettings
from pld.jobs.setup import JobData, job_data, job_lms, sample, student_options
from pld.jobs.tasks import compile_task, evaluate_task

__all__ = ["CompileSettings", "JobData", "compile_task", "evaluate_task", "job_data", "job_lms", "sample",
           "student_options"]
