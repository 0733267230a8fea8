"""In-process llama.cpp as a DSPy engine (the LM over it: ``pld.backends.local.lm``).

The engine runs a GGUF model in this process, so DSPy's cache, callbacks and history work as
for any provider. Decoding follows the output structure that DSPy's ChatAdapter declares: field
headers are written by us, free-text fields are generated up to the next header, and
``Literal``/``bool`` fields are scored (``pld.backends.local.labels``) or constrained by a grammar
to one of their values, so a classification student always answers with a label from its label set.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

import dspy
from dspy.lm15 import Message, Response, TextPart, Usage

from pld.backends.base import LabelDecoding
from pld.backends.local.cpus import physical_cores, usable_cpus
from pld.backends.local.labels import LabelScorer, common_prefix
from pld.backends.local.native_log import route_native_logs
from pld.backends.local.probe import ensure_engine_runs
from pld.backends.decoding import (
    OutputField,
    choice_grammar,
    content_free,
    decode_fields,
    parse_output_fields,
    render_chat,
)
from pld.errors import BackendError

logger = logging.getLogger(__name__)

DEFAULT_FREE_TEXT_TOKENS = 384


class LlamaCppEngine:
    """One llama.cpp model behind a lock: a ``Llama`` object crashes when used from two threads.

    Shared by every LM over the same weights; each LM reaches it through a ``LabelDecodingEngine``
    that adds its own label decoding. Counters: ``prompt_tokens_total`` (tokens in every prompt
    sent), ``prompt_tokens_evaluated`` (tokens run through the model: the cache misses) and
    ``label_paths`` (which decoding path answered each label field).
    """

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
        self.label_paths: Counter[str] = Counter()
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self._llama: Any = None
        self._labels: LabelScorer | None = None
        self._lock = threading.Lock()
        self.prompt_tokens_total = 0
        self.prompt_tokens_evaluated = 0

    def __deepcopy__(self, memo: dict) -> LlamaCppEngine:
        return self  # the model handle is shared, never copied

    # -- public, thread-safe -----------------------------------------------------------------
    def tokenize(self, text: str, *, prompt: bool) -> list[int]:
        """Token ids of ``text``: as a prompt (BOS, special tokens read as such) or as answer text."""
        with self._lock:
            return self._tokenize(text, prompt=prompt)

    def prompt_ids(self, system: str | None, turns: list[tuple[str, str]]) -> list[int]:
        """The exact token ids this engine evaluates for a conversation (rendered in its turn format)."""
        return self.tokenize(render_chat(self.chat_format, system, turns), prompt=True)

    # -- engine contract -------------------------------------------------------------------
    def complete(self, request: dspy.lm15.Request, decoding: LabelDecoding | None = None) -> Response:
        decoding = decoding or LabelDecoding()
        system = request.system if isinstance(request.system, str) or request.system is None else "".join(
            part.text for part in request.system
        )
        turns = [(message.role, message.text or "") for message in request.messages]
        prompt = render_chat(self.chat_format, system, turns)
        config = request.config
        with self._lock:
            llama = self._load()
            prompt_ids = self._tokenize(prompt, prompt=True)
            if len(prompt_ids) >= self.n_ctx - 16:
                raise dspy.lm15.ContextLengthError(
                    f"prompt of {len(prompt_ids)} tokens does not fit the {self.n_ctx}-token context of {self.model_path.name}"
                )
            cached = common_prefix(llama, prompt_ids)
            fields = parse_output_fields(system)
            if config.response_format is not None and config.response_format.get("type") == "json_schema":
                text = self._generate(prompt, config, grammar=_json_grammar(json.dumps(config.response_format["schema"])))
            elif fields:
                calibration = None
                if decoding.calibrate:
                    calibration = render_chat(self.chat_format, system, [*turns[:-1], (turns[-1][0], content_free(turns[-1][1]))])
                text = self._structured(prompt, fields, config, decoding.label_mode, calibration)
            else:
                text = self._generate(prompt, config, stop=list(config.stop))
            output_tokens = len(self._tokenize(text, prompt=False))
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
        pass  # shared by every LM over these weights: ``release`` frees the model

    def release(self, wait_s: float = 30.0) -> None:
        """Free the model now (a later call loads it again). Called at exit, while Python's modules
        still work: freed later, llama.cpp would log through a callback Python has already torn down."""
        if not self._lock.acquire(timeout=wait_s):
            return  # a call still running in another thread: leave the model to the process's end
        try:
            if self._llama is not None:
                self._llama.close()
                self._llama, self._labels = None, None
        finally:
            self._lock.release()

    # -- under the lock --------------------------------------------------------------------
    def _load(self) -> Any:
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise BackendError('The embedded backend needs llama-cpp-python: `pip install "pld[local]"`.') from exc
            route_native_logs()  # llama.cpp's own lines go to logging, not the console
            ensure_engine_runs(self.model_path)  # a native-build crash becomes an error with its fix
            logger.info("loading %s", self.model_path)
            self._llama = Llama(
                model_path=str(self.model_path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads or physical_cores(),  # pld.backends.local.cpus: why not the defaults
                n_threads_batch=self.n_threads or usable_cpus(),
                logits_all=False,
                verbose=False,
            )
            self._labels = LabelScorer(self._llama)
        return self._llama

    def _tokenize(self, text: str, *, prompt: bool) -> list[int]:
        return self._load().tokenize(text.encode("utf-8"), add_bos=prompt, special=prompt)

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
        result = self._load().create_completion(
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
