"""In-process llama.cpp as a DSPy engine.

``LocalLM`` is a ``dspy.LM`` whose engine runs a GGUF model in this process, so DSPy's cache,
callbacks and history work as for any provider. Decoding follows the output structure that
DSPy's ChatAdapter declares: field headers are written by us, free-text fields are generated up
to the next header, and ``Literal``/``bool`` fields are constrained by a grammar to one of their
values, so a classification student always answers with a label from its label set.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import dspy
from dspy.lm15 import Message, Response, TextPart, Usage

from pld.errors import BackendError
from pld.backends.local.labels import LabelScorer, common_prefix
from pld.backends.local.models import resolve_model_path, sha256_file
from pld.backends.local.probe import ensure_engine_runs
from pld.backends.local.prompting import (
    OutputField,
    choice_grammar,
    content_free,
    decode_fields,
    parse_output_fields,
    render_chat,
)

if TYPE_CHECKING:
    from pld.backends.options import LMOptions

logger = logging.getLogger(__name__)

DEFAULT_FREE_TEXT_TOKENS = 384
LabelMode = Literal["score", "grammar"]


class LlamaCppEngine:
    """One llama.cpp model behind a lock: a ``Llama`` object crashes when used from two threads."""

    def __init__(
        self,
        model_path: Path,
        *,
        chat_format: str,
        n_ctx: int = 8192,
        n_threads: int | None = None,
    ):
        self.model_path = Path(model_path)
        self.chat_format = chat_format
        self.label_paths: Counter[str] = Counter()  # which decoding path answered each label field
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self._llama: Any = None
        self._labels: LabelScorer | None = None
        self._lock = threading.Lock()
        self.prompt_tokens_total = 0  # tokens in every prompt sent
        self.prompt_tokens_evaluated = 0  # tokens actually run through the model (cache misses)

    def __deepcopy__(self, memo: dict) -> LlamaCppEngine:
        return self  # the model handle is shared, never copied

    def _model(self) -> Any:
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise BackendError('The embedded backend needs llama-cpp-python: `pip install "pld[local]"`.') from exc
            ensure_engine_runs(self.model_path)  # a native-build crash becomes an error with its fix
            logger.info("loading %s", self.model_path)
            self._llama = Llama(
                model_path=str(self.model_path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                logits_all=False,
                verbose=False,
            )
            self._labels = LabelScorer(self._llama)
        return self._llama

    # -- engine contract -------------------------------------------------------------------
    def complete(self, request: dspy.lm15.Request) -> Response:
        system = request.system if isinstance(request.system, str) or request.system is None else "".join(
            part.text for part in request.system
        )
        turns = [(message.role, message.text or "") for message in request.messages]
        prompt = render_chat(self.chat_format, system, turns)
        config = request.config
        with self._lock:
            llama = self._model()
            prompt_ids = llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
            if len(prompt_ids) >= self.n_ctx - 16:
                raise dspy.lm15.ContextLengthError(
                    f"prompt of {len(prompt_ids)} tokens does not fit the {self.n_ctx}-token context of {self.model_path.name}"
                )
            cached = common_prefix(llama, prompt_ids)
            fields = parse_output_fields(system)
            if config.response_format is not None and config.response_format.get("type") == "json_schema":
                text = self._generate(prompt, config, grammar=_json_grammar(json.dumps(config.response_format["schema"])))
            elif fields:
                metadata = (config.extensions or {}).get("metadata") or {}
                calibration = None
                if metadata.get("pld_calibrate"):
                    calibration = render_chat(self.chat_format, system, [*turns[:-1], (turns[-1][0], content_free(turns[-1][1]))])
                text = self._structured(prompt, fields, config, metadata.get("pld_label_mode", "score"), calibration)
            else:
                text = self._generate(prompt, config, stop=list(config.stop))
            output_tokens = len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))
        self.prompt_tokens_total += len(prompt_ids)
        self.prompt_tokens_evaluated += len(prompt_ids) - cached
        usage = Usage(input_tokens=len(prompt_ids), output_tokens=output_tokens, cache_read_tokens=cached)
        return Response(
            id=None,
            model=request.model,
            message=Message.assistant([TextPart(text)]),
            finish_reason="stop",
            usage=usage,
        )

    def stream(self, request: dspy.lm15.Request):  # pragma: no cover - DSPy streams only on request
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        pass

    # -- decoding --------------------------------------------------------------------------
    def _structured(
        self, prompt: str, fields: list[OutputField], config: Any, label_mode: str, calibration: str | None = None
    ) -> str:
        """Generate only the field values; ``calibration`` (the prompt with content-free inputs)
        applies to a label field that comes first — a later one follows generated text."""

        def choose(text: str, choices: tuple[str, ...], position: int) -> str:
            if label_mode == "score" and not config.temperature:
                self.label_paths["score"] += 1
                content_free_prompt = calibration + text[len(prompt):] if calibration and position == 0 else None
                return self._labels.choose(text, choices, content_free_prompt)
            self.label_paths["grammar"] += 1
            return self._generate(text, config, grammar=_choice_grammar(choices), max_tokens=64)

        def generate(text: str) -> str:
            return self._generate(text, config, stop=["[[ ##", "\n\n\n"],
                                  max_tokens=config.max_tokens or DEFAULT_FREE_TEXT_TOKENS)

        return decode_fields(prompt, fields, choose=choose, generate=generate)

    def _generate(
        self,
        prompt: str,
        config: Any,
        *,
        grammar: Any = None,
        stop: list[str] | None = None,
        max_tokens: int | None = None,
    ) -> str:
        llama = self._model()
        result = llama.create_completion(
            prompt=prompt,
            max_tokens=max_tokens or config.max_tokens or DEFAULT_FREE_TEXT_TOKENS,
            temperature=config.temperature if config.temperature is not None else 0.0,
            top_p=config.top_p if config.top_p is not None else 1.0,
            seed=config.seed,
            stop=stop or [],
            grammar=grammar,
        )
        return result["choices"][0]["text"]


@lru_cache(maxsize=64)
def _choice_grammar(choices: tuple[str, ...]) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(choice_grammar(choices), verbose=False)


@lru_cache(maxsize=16)
def _json_grammar(schema: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_json_schema(schema, verbose=False)


class LocalLM(dspy.LM):
    """A ``dspy.LM`` over the embedded engine; ``model_sha256`` identifies the exact weights."""

    def __init__(self, model: str, engine: LlamaCppEngine, model_sha256: str, **kwargs: Any):
        super().__init__(model, engine=engine, **kwargs)
        self.local_engine = engine
        self.model_sha256 = model_sha256


_ENGINES: dict[Path, LlamaCppEngine] = {}
_ENGINES_LOCK = threading.Lock()


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
    kwargs: dict[str, Any] = {"temperature": options.temperature, "cache": options.cache,
                              # travels in the request (and the cache key): how label fields are decoded
                              "metadata": {"pld_label_mode": options.label_mode, "pld_calibrate": options.calibrate}}
    if options.max_tokens is not None:
        kwargs["max_tokens"] = options.max_tokens
    if options.seed is not None:
        kwargs["seed"] = options.seed
    # The digest goes into the model name so DSPy's response cache never mixes two weight files.
    return LocalLM(f"{model_name}@{digest[:12]}", engine, digest, **kwargs)


def _guess_chat_format(path: Path) -> str:
    return "gemma" if "gemma" in path.name.lower() else "chatml"
