"""What a comparison writes: one ``MethodResult`` per method and the ``CompareReport`` around them.

Every count comes from DSPy LM callbacks (``pld.usage``), the one place each optimizer's calls
pass, so all methods are measured the same way. ``calls`` include response-cache hits;
tokens count only calls that reached a model.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, computed_field

from pld.compare.settings import CompareSettings
from pld.evaluate import EvalReport
from pld.usage import UsageTotals

Status = Literal["ok", "failed", "unavailable"]


Usage = UsageTotals  # a method's calls and tokens per role: the run's one counting model


class EngineCheck(BaseModel):
    """Prompt tokens the embedded engine itself processed, beside what the callbacks counted."""

    callback_input_tokens: int
    engine_prompt_tokens: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def match(self) -> bool:
        return self.callback_input_tokens == self.engine_prompt_tokens


class CompileCost(BaseModel):
    teacher: Usage
    student: Usage
    wall_s: float
    engine_check: dict[str, EngineCheck] = {}


class SplitResult(EvalReport):
    """Scores and run-time cost of the compiled program on one split, response cache off."""

    wall_s: float
    engine_check: EngineCheck | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def prompt_tokens_per_query(self) -> float:
        return self.input_tokens / max(1, self.scores.n)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def completion_tokens_per_query(self) -> float:
        return self.output_tokens / max(1, self.scores.n)


class MethodResult(BaseModel):
    method: str
    description: str
    status: Status
    error: str | None = None
    key: str
    strategy: str
    settings: dict[str, Any]
    seed: int
    budget: int
    compile: CompileCost | None = None
    val: SplitResult | None = None
    test: SplitResult | None = None
    artifact: str | None = None
    load_avg: tuple[float, float] | None = None  # 1-minute load average when the method started and ended

    @computed_field  # type: ignore[prop-decorator]
    @property
    def engine_counts_match(self) -> bool | None:
        """Whether every engine-side token count equals the callbacks' (None: no embedded engine)."""
        checks = [*(self.compile.engine_check.values() if self.compile else ())]
        checks += [split.engine_check for split in (self.val, self.test) if split and split.engine_check]
        return all(check.match for check in checks) if checks else None


class CompareReport(BaseModel):
    settings: CompareSettings
    task: str
    label_field: str
    labels: list[str]
    signature: str
    student_model: str
    teacher_model: str
    model_digests: dict[str, str]
    lm_kwargs: dict[str, dict[str, Any]]
    data_sizes: dict[str, int]
    data_fingerprints: dict[str, str]
    versions: dict[str, str]
    methods: list[MethodResult]
    reused: list[str] = []
    wall_s: float = 0.0
