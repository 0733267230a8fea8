"""What ``pld compare`` runs with; the defaults finish in well under 30 minutes on 2 CPU cores."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from pld.backends.options import DEFAULT_STUDENT, DEFAULT_TEACHER
from pld.config import JOB_DEFAULTS, Settings

# The pld row's settings: `pld compile`'s PLD on one thread, quiet. Its max_student_calls and seed
# are replaced by the comparison's budget and seed, the same for every method. Other settings:
# compare(..., methods=[..., pld_method(COMPARE_PLD.replace(max_rules=2))]) (pld.compare.peers).
COMPARE_PLD = JOB_DEFAULTS.replace(num_threads=1, progress=False)

DEFAULT_METHODS: tuple[str, ...] = (
    "zero-shot", "cot", "few-shot", "bootstrap", "copro", "miprov2", "miprov2-full", "gepa", "simba", "inferrules",
    "pld",
)


class CompareSettings(Settings):
    """One comparison: task, models, data sizes, methods, seed and the student-call budget.

    Args:
        task: a task of the suite (``pld.tasks``); ``"custom"`` when the Python API gets its own data.
        student: model spec of the student every method compiles for.
        teacher: model spec of the teacher / prompt / reflection model every method may use.
        methods: registered method names, in row order.
        n_train, n_val, n_test: label-balanced, seeded samples of the task's splits (None: all).
        budget: student calls each method's compile may spend, where the optimizer can be capped or
            sized (see ``pld.compare.peers``).
        seed: data sampling and every optimizer's seed.
        student_max_tokens: cap on the student's free-text output, i.e. chain-of-thought reasoning
            (labels are never cut); 48 keeps the CoT baseline at seconds per query on 2 cores.
            None: the backend's default.
        fail_methods: fault injection: these methods raise instead of compiling, to check that one
            failing method is reported in its row and does not stop the others.
        retry_failed: run failed methods again instead of reusing their cached failure.
        warm_up: one uncounted, uncached 1-token call per model before the first method runs, so no
            method's compile time or latency includes loading a model.
        data_dir: folder with the task's official files.
    """

    kind: ClassVar[str] = "compare setting"

    task: str = Field("stereoset", description="the task of the suite to compare on")
    student: str = Field(DEFAULT_STUDENT, description="model spec of the student every method compiles for")
    teacher: str = Field(DEFAULT_TEACHER, description="model spec of the teacher, prompt and reflection model")
    methods: tuple[str, ...] = Field(DEFAULT_METHODS, description="comma-separated methods, in row order")
    n_train: int | None = Field(8, ge=1, description="training examples (None: all)")
    n_val: int | None = Field(12, ge=1, description="validation examples (None: all)")
    n_test: int | None = Field(24, ge=1, description="test examples (None: all)")
    budget: int = Field(default=120, ge=1, description="student calls each method's compile may spend, where the "
                                                       "optimizer can be capped or sized")
    seed: int = Field(0, description="data sampling and every optimizer's seed")
    student_max_tokens: int | None = Field(
        48, ge=1, description="the student's token cap (its per-role --max-tokens), kept short since it caps "
                              "chain-of-thought reasoning (None: --max-tokens, or the backend's default)")
    fail_methods: tuple[str, ...] = Field(
        (), description="fault injection: these methods (comma-separated, among the methods run) raise instead of "
                        "compiling, to check that a failing method is reported in its row and the others complete")
    retry_failed: bool = Field(False, description="run failed methods again instead of reusing their cached failure")
    warm_up: bool = Field(True, description="one uncounted 1-token call per model before the first method runs")
    data_dir: str | None = Field(None, description="folder with the task's official files")
