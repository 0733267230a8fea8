"""What PLD knows about a model it built, as one typed record, and the one way to read it.

``make_lm`` returns ``BackendLM`` objects (``LocalLM`` for embedded models) that carry a frozen
``BackendInfo``: which spec, which kind of backend, which server (credentials stripped), the
request timeout, the digests that identify the weights, and how an embedded model decodes label
fields. ``lm.copy()`` and deep copies of programs keep it, since DSPy copies an LM's attributes.
Error messages, artifacts and reports read it through ``backend_info``, which answers for any
``dspy.BaseLM``, including LMs that PLD did not build.

This module sits below ``pld.faults`` (which reads it to name a server in an error), so it
imports nothing of PLD's beyond the plain options: the builders strip credentials before they
make a ``BackendInfo``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import dspy

from pld.backends.options import LabelMode

BackendKind = Literal["local", "ollama", "openai", "litellm", "other"]  # other: an LM that PLD did not build


@dataclass(frozen=True)
class LabelDecoding:
    """How the embedded engine decodes label fields: score the labels from one pass over the prompt
    (optionally calibrated against a content-free input), or generate under a grammar."""

    label_mode: LabelMode = "score"
    calibrate: bool = False

    def model_suffix(self) -> str:
        """What the LM's model name adds for these settings, so that DSPy's response cache (whose
        key holds the model name, not the engine) never hands one setting another's answers.
        Plain scoring adds nothing; calibration only changes scoring, so a grammar ignores it."""
        if self.label_mode == "grammar":
            return "+grammar"
        return "+calibrated" if self.calibrate else ""

    def as_options(self) -> dict[str, Any]:
        """The fields as ``LMOptions`` and artifacts name them."""
        return {"label_mode": self.label_mode, "calibrate": self.calibrate}


@dataclass(frozen=True)
class BackendInfo:
    """A model as PLD built it. ``server`` never holds credentials; the digests identify the weights
    (DSPy's cache key ignores the server address, so artifacts record them)."""

    spec: str
    kind: BackendKind
    server: str | None = None
    timeout: float | None = None  # seconds one request may wait for its answer
    weights_sha256: str | None = None  # embedded models: the GGUF file's SHA-256
    ollama_digest: str | None = None  # Ollama: the served model's digest, when the server was asked
    label_decoding: LabelDecoding | None = None  # models whose labels PLD decodes: embedded, completions servers
    chat_format: str | None = None  # openai/ via /v1/completions: the turn format PLD renders prompts in
    endpoints: tuple[str, ...] = ()  # a pool (pld.backends.pool): every server it spreads calls over, no credentials
    concurrency: int | None = None  # a pool: concurrent requests that pay off, the sum of its endpoints' shares

    def describe(self) -> str:
        """Who answers: the spec, and the server when there is one."""
        return f"{self.spec} at {self.server}" if self.server else self.spec


class BackendLM(dspy.LM):
    """A ``dspy.LM`` that PLD built from a spec; ``backend`` says what it is, and copies keep it."""

    backend: BackendInfo

    def __init__(self, model: str, *, backend: BackendInfo, **kwargs: Any):
        super().__init__(model, **kwargs)
        self.backend = backend

    def dump_state(self) -> dict[str, Any]:
        """Saved as the plain ``dspy.LM`` it is to DSPy, so a program saved with it loads anywhere,
        PLD or not, without DSPy's custom-class opt-in. ``backend`` is not part of the state."""
        from dspy.clients.base_lm import LM_CLASS_STATE_KEY

        return {**super().dump_state(), LM_CLASS_STATE_KEY: f"{dspy.LM.__module__}.{dspy.LM.__qualname__}"}


def backend_info(lm: dspy.BaseLM) -> BackendInfo:
    """The ``BackendInfo`` of ``lm``; for an LM that PLD did not build, its model name only."""
    if isinstance(lm, BackendLM):
        return lm.backend
    return BackendInfo(spec=str(getattr(lm, "model", None) or type(lm).__name__), kind="other")


def model_digests(lms: Mapping[str, dspy.BaseLM]) -> dict[str, str]:
    """Per role, the digests that identify its model: ``role`` -> weights SHA-256 (embedded models),
    ``role_ollama`` -> the Ollama digest. Roles without either are left out."""
    digests: dict[str, str] = {}
    for role, lm in lms.items():
        info = backend_info(lm)
        if info.weights_sha256:
            digests[role] = info.weights_sha256
        if info.ollama_digest:
            digests[f"{role}_ollama"] = info.ollama_digest
    return digests
