"""Model options and default specs: plain data, importable without DSPy (the CLI builds its help from them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DEFAULT_STUDENT = "local/gemma3-270m"
DEFAULT_TEACHER = "local/qwen2.5-0.5b"
DEFAULT_OLLAMA_HOST = "http://localhost:11434"
DEFAULT_TIMEOUT_S = 120.0  # a CPU server generating a rationale answers well within this; a hung one aborts
DEFAULT_RETRIES = 2  # DSPy's backoff: 1 s, then 2 s


@dataclass(frozen=True)
class LMOptions:
    """Generation settings shared by every backend."""

    temperature: float = 0.0
    max_tokens: int | None = None
    seed: int | None = 0
    api_base: str | None = None
    cache: bool = True
    label_mode: Literal["score", "grammar"] = "score"  # embedded backend: score labels, or constrain generation
    calibrate: bool = False  # embedded backend, scoring: contextual calibration against a content-free input
    chat_format: str | None = None  # openai/ with api_base: score labels via /v1/completions in this turn format
    timeout: float | None = DEFAULT_TIMEOUT_S  # servers: seconds one request may wait for its answer
    num_retries: int = DEFAULT_RETRIES  # servers: retries of a timeout, HTTP 429 or 5xx (exponential backoff)
