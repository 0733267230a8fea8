"""Model options and default specs: plain data, importable without DSPy (the CLI builds its help from them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

DEFAULT_STUDENT = "local/qwen2.5-1.5b"  # the packaged model that follows written rules (benchmarks/POLICY_PROBE.md)
DEFAULT_TEACHER = "local/qwen2.5-1.5b"
DEFAULT_OLLAMA_HOST = "http://localhost:11434"
DEFAULT_TIMEOUT_S = 120.0  # a CPU server generating a rationale answers well within this; a hung one aborts
DEFAULT_RETRIES = 2  # DSPy's backoff: 1 s, then 2 s
ROUTING_STRATEGIES = ("least-busy", "simple-shuffle", "latency-based-routing", "usage-based-routing-v2")
DEFAULT_ROUTING_STRATEGY = "least-busy"  # a pool of servers: each call goes to the endpoint with the fewest in flight

LabelMode = Literal["score", "grammar"]
LABEL_MODES: tuple[LabelMode, ...] = ("score", "grammar")
TURN_FORMATS = ("gemma", "chatml")  # the turn formats PLD renders (pld.backends.decoding.CHAT_FORMATS)
CHAT_ROUTE = "chat"  # --chat-format chat: the server's own chat route, without asking it for a turn format
CHAT_FORMAT_CHOICES = (*TURN_FORMATS, CHAT_ROUTE)


def _problem(options: LMOptions) -> tuple[str, Any, str] | None:
    """The first option with a bad value: (name, value, what is allowed), or None."""
    checks: list[tuple[str, bool, str]] = [
        ("timeout", options.timeout is None or (not isinstance(options.timeout, bool) and options.timeout > 0),
         "a positive number of seconds or None"),
        ("num_retries", isinstance(options.num_retries, int) and options.num_retries >= 0, "a whole number >= 0"),
        ("label_mode", options.label_mode in LABEL_MODES, f"one of {', '.join(map(repr, LABEL_MODES))}"),
        ("chat_format", options.chat_format is None or options.chat_format in CHAT_FORMAT_CHOICES,
         f"one of {', '.join(map(repr, CHAT_FORMAT_CHOICES))} or None"),
        ("num_ctx", options.num_ctx is None or (isinstance(options.num_ctx, int) and options.num_ctx >= 1),
         "a whole number >= 1 or None"),
        ("routing_strategy", options.routing_strategy in ROUTING_STRATEGIES,
         f"one of {', '.join(map(repr, ROUTING_STRATEGIES))}"),
    ]
    return next(((name, getattr(options, name), allowed) for name, ok, allowed in checks if not ok), None)


@dataclass(frozen=True)
class LMOptions:
    """Generation settings shared by every backend."""

    temperature: float = 0.0
    max_tokens: int | None = None
    seed: int | None = 0
    api_base: str | None = None
    cache: bool = True
    label_mode: LabelMode = "score"  # embedded backend: score labels, or constrain generation
    # embedded backend, scoring: contextual calibration against a content-free input; None: the task's
    # default where a task job settles it (``Task.default_options``), else off
    calibrate: bool | None = None
    chat_format: str | None = None  # openai/ with api_base: score labels via /v1/completions in this turn format
    timeout: float | None = DEFAULT_TIMEOUT_S  # servers: seconds one request may wait for its answer
    num_retries: int = DEFAULT_RETRIES  # servers: retries of a timeout, HTTP 429 or 5xx (exponential backoff)
    num_ctx: int | None = None  # ollama/: a fixed context window; None sizes it from the prompts
    keep_alive: str | float | None = None  # ollama/: how long the server keeps the model loaded; None: 10 minutes
    # Several servers for one role (pld.backends.pool): api_base may list addresses separated by commas,
    # or router names a LiteLLM Router config file (YAML/JSON with a model_list).
    router: str | None = None
    routing_strategy: str = DEFAULT_ROUTING_STRATEGY  # a litellm.Router routing strategy
    prefix_affinity: bool = True  # a pool: prompts sharing all but their last input field stay on one endpoint

    def __post_init__(self) -> None:
        """Refuse a bad value where the options are made, with one line naming the option (and the
        command-line flag that sets it), as the validating settings classes do (``pld.config``)."""
        problem = _problem(self)
        if problem is not None:
            from pld.errors import ConfigError

            name, value, allowed = problem
            flag = {"num_retries": "retries"}.get(name, name).replace("_", "-")
            raise ConfigError(f"invalid model option {name}={value!r} (--{flag}): must be {allowed}")

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
