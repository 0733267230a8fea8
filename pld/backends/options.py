"""Model options and default specs: plain data, importable without DSPy (the CLI builds its help from them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, ClassVar, Literal, get_args

from pydantic import Field, field_validator

from pld.settings import Settings

DEFAULT_STUDENT = "local/qwen2.5-1.5b"  # the packaged model that follows written rules (benchmarks/POLICY_PROBE.md)
DEFAULT_TEACHER = "local/qwen2.5-1.5b"
DEFAULT_OLLAMA_HOST = "http://localhost:11434"
DEFAULT_TIMEOUT_S = 120.0  # a CPU server generating a rationale answers well within this; a hung one aborts
DEFAULT_RETRIES = 2  # DSPy's backoff: 1 s, then 2 s
RoutingStrategy = Literal["least-busy", "simple-shuffle", "latency-based-routing", "usage-based-routing-v2"]
ROUTING_STRATEGIES: tuple[str, ...] = get_args(RoutingStrategy)
DEFAULT_ROUTING_STRATEGY = "least-busy"  # a pool of servers: each call goes to the endpoint with the fewest in flight

LabelMode = Literal["score", "grammar"]
LABEL_MODES: tuple[LabelMode, ...] = ("score", "grammar")
ChatFormat = Literal["gemma", "chatml", "chat"]
CHAT_FORMAT_CHOICES: tuple[str, ...] = get_args(ChatFormat)
TURN_FORMATS = CHAT_FORMAT_CHOICES[:2]  # the turn formats PLD renders (pld.backends.decoding.CHAT_FORMATS)
CHAT_ROUTE = "chat"  # --chat-format chat: the server's own chat route, without asking it for a turn format


def _option(default: Any, metadata: dict[str, Any], **bounds: Any) -> Any:
    """A model option: its default, its bounds, and its command-line flag (``metadata``: ``help``;
    ``flag`` where the name differs; ``parse``, ``metavar``, ``choices``, ``cli_default``,
    ``per_role``), read by ``pld.commands.common.add_model_args``."""
    extra = {key: value for key, value in metadata.items() if key != "help"}
    extra["cli"] = True
    return Field(default, description=metadata["help"], json_schema_extra=extra, **bounds)


class LMOptions(Settings):
    """Generation settings shared by every backend; validated like every settings class
    (``pld.settings``): a bad value is refused with one line naming the option and its flag."""

    kind: ClassVar[str] = "model option"

    # Each field's ``metadata`` is its command-line flag (``pld.commands.common.add_model_args``
    # generates them): ``help``; ``flag`` where the name differs; ``parse`` (a parser name the CLI
    # knows); ``cli_default`` where "not given" must stay distinguishable; ``per_role``: also
    # ``--teacher-FLAG`` / ``--student-FLAG``. Fields without ``help`` are Python-only.
    temperature: float = _option(0.0, metadata={"help": "sampling temperature", "parse": "float",
                                                      "metavar": "T", "per_role": True})
    max_tokens: int | None = _option(None, metadata={"help": "cap on generated tokens", "parse": "int",
                                                           "metavar": "N", "per_role": True})
    seed: int | None = _option(0, metadata={
        "help": "seeds the data samples, the models and every random choice of the run", "parse": "int",
        "metavar": "N"})
    api_base: str | None = _option(None, metadata={
        "help": "server address; user:password@ in it is sent as HTTP basic auth; several addresses separated by "
                "commas spread the calls over them (a pool, failover included)", "metavar": "URL", "per_role": True})
    cache: bool = _option(True, metadata={"help": "bypass DSPy's response cache", "flag": "no-cache",
                                                "inverse": True})
    label_mode: LabelMode = _option("score", metadata={
        "help": "embedded models and completions servers: score the labels in one pass (default), or generate under "
                "a grammar; a loaded artifact keeps its recorded mode unless this is given",
        "choices": LABEL_MODES, "cli_default": None})
    # embedded backend, scoring: contextual calibration against a content-free input; None: the task's
    # default where a task job settles it (``Task.default_options``), else off
    calibrate: bool | None = _option(None, metadata={
        "help": "embedded models and completions servers: contextual calibration of label scores (content-free "
                "input); default: the task's setting, chosen by measurement (benchmarks/CALIBRATION.md); a loaded "
                "artifact keeps its recorded setting unless this is given",
        "boolean": True})
    chat_format: ChatFormat | None = _option(None, metadata={
        "help": "openai/ specs with --api-base: score labels via /v1/completions, rendering prompts in this turn "
                "format (default: the one the server's chat template or tokenizer names; 'chat': the server's chat "
                "route, which generates each label)", "choices": CHAT_FORMAT_CHOICES, "per_role": True})
    timeout: float | None = _option(DEFAULT_TIMEOUT_S, metadata={
        "help": "servers: seconds a request may wait for its answer", "parse": "seconds", "metavar": "SECONDS",
        "per_role": True}, gt=0)
    num_retries: int = _option(DEFAULT_RETRIES, metadata={
        "help": "servers: retries of a timeout, HTTP 429 or 5xx, with exponential backoff; other server faults stop "
                "the run at once", "flag": "retries", "parse": "int>=0", "metavar": "N", "per_role": True}, ge=0)
    num_ctx: int | None = _option(None, metadata={
        "help": "ollama/ specs: a fixed context window in tokens (default: sized from each prompt, up to the model's "
                "context length)", "parse": "int>=1", "metavar": "N"}, ge=1)
    keep_alive: str | float | None = _option(None, metadata={
        "help": "ollama/ specs: how long the server keeps the model loaded after a request, as seconds or a duration "
                "such as 10m or 1h; negative: for good (default 10m)", "parse": "keep_alive", "metavar": "DURATION"})
    # Several servers for one role (pld.backends.pool): api_base may list addresses separated by commas,
    # or router names a LiteLLM Router config file (YAML/JSON with a model_list).
    router: str | None = _option(None, metadata={
        "help": "a LiteLLM Router config (YAML or JSON with a model_list, LiteLLM's format): the servers to spread "
                "calls over, instead of --api-base", "metavar": "FILE", "per_role": True})
    routing_strategy: RoutingStrategy = _option(DEFAULT_ROUTING_STRATEGY, metadata={
        "help": "several servers: how the Router picks one per call", "choices": ROUTING_STRATEGIES})
    prefix_affinity: bool = True  # a pool: prompts sharing all but their last input field stay on one endpoint

    @field_validator("api_base", "router", mode="before")
    @classmethod
    def _path_as_text(cls, value: Any) -> Any:
        """A ``pathlib.Path`` (a router config file) is its text."""
        return str(value) if isinstance(value, PurePath) else value

    @field_validator("keep_alive", mode="before")
    @classmethod
    def _seconds_as_number(cls, value: Any) -> Any:
        """``"600"`` is 600 seconds (Ollama takes a bare number only as one); ``"10m"`` stays a duration."""
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return value
        return value

    def generation_kwargs(self) -> dict[str, Any]:
        """Temperature, and ``max_tokens`` and ``seed`` where set, as ``dspy.LM`` takes them."""
        kwargs: dict[str, Any] = {"temperature": self.temperature}
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        if self.seed is not None:
            kwargs["seed"] = self.seed
        return kwargs

    def request_kwargs(self) -> dict[str, Any]:
        """Timeout and retries for a served ``dspy.LM``: DSPy retries transient faults itself (LiteLLM never does)."""
        kwargs: dict[str, Any] = {"num_retries": self.num_retries}
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        return kwargs


@dataclass(frozen=True)
class ModelSpec:
    """A model spec with its own options, for one role: ``PLD(student_lm=ModelSpec("ollama/gemma3:4b",
    LMOptions(api_base="http://gpu-box:11434")))`` puts the student on its own server."""

    spec: str
    options: LMOptions = LMOptions()


@dataclass(frozen=True)
class RoleOptions:
    """Each role's own options, so that a teacher and a student can sit on different servers with
    their own temperature, token cap, timeout and retries."""

    teacher: LMOptions = LMOptions()
    student: LMOptions = LMOptions()

    @classmethod
    def of(cls, options: LMOptions | RoleOptions | None) -> RoleOptions:
        """``options`` as per-role options: one ``LMOptions`` applies to both roles."""
        if isinstance(options, RoleOptions):
            return options
        shared = options or LMOptions()
        return cls(teacher=shared, student=shared)


CALIBRATION_NEEDS_SCORING = (
    "calibrated label scores (--calibrate, or an artifact compiled with them) need an engine that scores labels: "
    "the embedded backend (local/...) or completions servers (openai/ with --api-base and --chat-format). "
    "Elsewhere pass --no-calibrate (in Python, pld.load(..., calibrate=False)); labels can then differ from those "
    "the rules were selected with."
)




def is_pool(options: LMOptions) -> bool:
    """Whether ``options`` name several servers (a comma-separated ``api_base``) or a router config."""
    return options.router is not None or "," in (options.api_base or "")
