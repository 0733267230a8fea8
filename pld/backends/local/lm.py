"""``local/...`` specs as DSPy LMs: one shared engine per weights file, one label decoding per LM.

Several LMs can run over one engine (the same model as teacher and student, a copy with the
cache off, a grammar-decoding twin for a benchmark). Each reaches it through a
``LabelDecodingEngine`` that hands its own ``LabelDecoding`` to every request, and each LM's
model name carries the digest of the weights and the decoding's suffix, so DSPy's response
cache, which keys on the model name and never on the engine, keeps their answers apart.
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dspy

from pld.backends.base import BackendInfo, BackendLM, LabelDecoding
from pld.backends.local.engine import LlamaCppEngine
from pld.backends.local.models import resolve_model_path, sha256_file
from pld.errors import BackendError

if TYPE_CHECKING:
    from pld.backends.options import LMOptions


class LabelDecodingEngine:
    """The shared engine as one LM sees it: every request is decoded with that LM's settings."""

    def __init__(self, engine: LlamaCppEngine, decoding: LabelDecoding):
        self.engine = engine
        self.decoding = decoding

    def __deepcopy__(self, memo: dict) -> LabelDecodingEngine:
        return self  # immutable settings over a shared model handle

    def complete(self, request: dspy.lm15.Request) -> dspy.lm15.Response:
        return self.engine.complete(request, self.decoding)

    def stream(self, request: dspy.lm15.Request):  # pragma: no cover - DSPy streams only on request
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        pass  # the shared engine outlives any one LM


class LocalLM(BackendLM):
    """A ``dspy.LM`` over an embedded engine; ``backend.weights_sha256`` identifies the exact weights."""

    def __init__(self, model: str, engine: LlamaCppEngine, *, backend: BackendInfo, **kwargs: Any):
        decoding = backend.label_decoding or LabelDecoding()
        super().__init__(model, backend=backend, engine=LabelDecodingEngine(engine, decoding), **kwargs)


def engine_of(lm: dspy.BaseLM) -> LlamaCppEngine | None:
    """The embedded engine that answers ``lm`` (shared with every LM over the same weights), or None."""
    engine = getattr(lm, "engine", None)  # dspy.LM's engine selection: an object for custom engines
    return engine.engine if isinstance(engine, LabelDecodingEngine) else None


_ENGINES: dict[Path, LlamaCppEngine] = {}
_ENGINES_LOCK = threading.Lock()


@atexit.register
def _release_engines() -> None:
    for engine in list(_ENGINES.values()):
        engine.release()


def make_local_lm(name: str, options: LMOptions) -> LocalLM:
    """``local/<name>`` from the embedded registry, or ``local/<path.gguf>`` for any file."""
    if name.endswith(".gguf") or "/" in name:
        path = Path(name).expanduser()
        if not path.is_file():
            raise BackendError(f"No GGUF file at {path}. Pass local/<path to a .gguf file> or local/gemma3-270m.")
        chat_format, digest, model_name = _guess_chat_format(path), sha256_file(path), f"local/{path.name}"
    else:
        path, embedded = resolve_model_path(name)
        chat_format, digest, model_name = embedded.chat_format, embedded.sha256, f"local/{name}"
    with _ENGINES_LOCK:  # one model in memory per file, shared by every LM that names it
        engine = _ENGINES.get(path)
        if engine is None:
            engine = _ENGINES[path] = LlamaCppEngine(path, chat_format=chat_format)
    decoding = LabelDecoding(label_mode=options.label_mode, calibrate=bool(options.calibrate))
    backend = BackendInfo(spec=f"local/{name}", kind="local", weights_sha256=digest, label_decoding=decoding)
    # The digest and the decoding go into the model name: DSPy's response cache keys on it.
    model = f"{model_name}@{digest[:12]}{decoding.model_suffix()}"
    return LocalLM(model, engine, backend=backend, cache=options.cache, **options.generation_kwargs())


def _guess_chat_format(path: Path) -> str:
    return "gemma" if "gemma" in path.name.lower() else "chatml"
