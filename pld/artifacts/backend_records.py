"""What an artifact records about the model behind each role: backend, server, settings, weights.

A deployment has to know which server and settings a program was selected against, not only the
spec (``openai/gemma`` says nothing about where it ran). The record is built from the LM's typed
``BackendInfo``, whose server address is already stripped of credentials; keys and headers are
never read. Reading a manifest (``pld show``) never imports DSPy, so this module does not either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from pld.faults import redact

if TYPE_CHECKING:
    import dspy


class BackendRecord(BaseModel):
    """One role's model as it ran: the spec, the kind of backend, the server (no credentials),
    generation settings, the digests that identify the weights, and how labels were decoded."""

    spec: str
    kind: str
    server: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    weights_sha256: str | None = None
    ollama_digest: str | None = None
    label_decoding: dict[str, Any] | None = None
    chat_format: str | None = None  # openai/ via /v1/completions: the turn format its prompts were rendered in

    def describe(self) -> str:
        """Who answered: the spec, and the server when there is one."""
        return f"{self.spec} at {self.server}" if self.server else self.spec


def backend_record(lm: dspy.BaseLM) -> BackendRecord:
    """The record of ``lm``, for any DSPy LM (one PLD did not build records its model name only)."""
    from pld.backends.base import backend_info

    info = backend_info(lm)
    kwargs = getattr(lm, "kwargs", None) or {}
    max_tokens = kwargs.get("max_tokens", kwargs.get("max_completion_tokens"))
    temperature = kwargs.get("temperature")
    return BackendRecord(
        spec=info.spec, kind=info.kind, server=redact(info.server) if info.server else None,
        temperature=float(temperature) if isinstance(temperature, (int, float)) else None,
        max_tokens=max_tokens if isinstance(max_tokens, int) else None, timeout=info.timeout,
        weights_sha256=info.weights_sha256, ollama_digest=info.ollama_digest,
        label_decoding=info.label_decoding.as_options() if info.label_decoding else None,
        chat_format=info.chat_format,
    )
