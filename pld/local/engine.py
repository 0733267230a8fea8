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
import numpy as np
from dspy.lm15 import Message, Response, TextPart, Usage

from pld.errors import BackendError
from pld.local.models import resolve_model_path, sha256_file
from pld.local.prompting import (
    COMPLETED_MARKER,
    OutputField,
    choice_grammar,
    content_free,
    field_header,
    parse_output_fields,
    render_chat,
)

if TYPE_CHECKING:
    from pld.lm import LMOptions

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
        self._content_free: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self._llama: Any = None
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
            logger.info("loading %s", self.model_path)
            self._llama = Llama(
                model_path=str(self.model_path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                logits_all=False,
                verbose=False,
            )
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
            cached = self._common_prefix(llama, prompt_ids)
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
    @staticmethod
    def _common_prefix(llama: Any, prompt_ids: list[int]) -> int:
        previous = list(llama.input_ids[: llama.n_tokens])
        count = 0
        for old, new in zip(previous, prompt_ids):
            if old != new:
                break
            count += 1
        return count

    def _structured(
        self, prompt: str, fields: list[OutputField], config: Any, label_mode: str, calibration: str | None = None
    ) -> str:
        """Write each field header ourselves and generate only the values.

        ``calibration`` is the same prompt with content-free inputs; it applies to a label field
        that comes first (a later one depends on generated text that has no content-free twin).
        """
        output = ""
        for position, field in enumerate(fields):
            output += field_header(field.name)
            if field.choices and label_mode == "score" and not config.temperature:
                content_free_prompt = calibration + output if calibration and position == 0 else None
                value = self._score_choices(prompt + output, field.choices, content_free_prompt)
                self.label_paths["score"] += 1
            elif field.choices:
                value = self._generate(prompt + output, config, grammar=_choice_grammar(field.choices), max_tokens=64)
                self.label_paths["grammar"] += 1
            else:
                value = self._generate(
                    prompt + output, config, stop=["[[ ##", "\n\n\n"], max_tokens=config.max_tokens or DEFAULT_FREE_TEXT_TOKENS
                )
            output += value.strip() + "\n\n"
        return output + COMPLETED_MARKER

    def _score_choices(self, prompt: str, choices: tuple[str, ...], content_free_prompt: str | None = None) -> str:
        """The choice greedy grammar-constrained decoding would pick, from one pass over the prompt.

        A grammar admits as first token any vocabulary token that spells a prefix of a choice; at
        temperature 0 it takes the highest-logit one, which settles the choice when that token
        belongs to one choice only. Scoring takes the same maximum without generating. When the
        winning token is shared by several choices, those are ranked by the summed log-probability
        of their own tokens (one extra step per token). With ``content_free_prompt`` (contextual
        calibration, Zhao et al. 2021) each choice's probability is divided by its probability
        for a content-free input before the maximum is taken.
        """
        llama = self._model()
        prompt_ids = llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        owners = _prefix_tokens(llama, choices)
        if content_free_prompt is not None:
            baseline = self._choice_probabilities(llama, content_free_prompt, choices, owners)
            probabilities = self._choice_probabilities(llama, prompt, choices, owners)
            return choices[int(np.argmax(probabilities / np.maximum(baseline, 1e-12)))]
        logits = self._eval_prefix_shared(llama, prompt_ids)
        best = max(owners, key=lambda token: logits[token])
        tied = sorted(owners[best])
        if len(tied) == 1:
            return choices[tied[0]]
        totals = {index: self._sequence_logprob(llama, prompt_ids, logits, choices[index]) for index in tied}
        return choices[max(totals, key=totals.__getitem__)]

    def _choice_probabilities(self, llama: Any, prompt: str, choices: tuple[str, ...],
                              owners: dict[int, set[int]]) -> np.ndarray:
        """Each choice's probability from its best first token, renormalised over the choices."""
        key = (prompt, choices)
        cached = self._content_free.get(key)
        if cached is not None:
            return cached
        logits = self._eval_prefix_shared(llama, llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True))
        best = np.full(len(choices), -np.inf)
        for token, indices in owners.items():
            for index in indices:
                best[index] = max(best[index], logits[token])
        probabilities = np.exp(best - best.max())
        probabilities /= probabilities.sum()
        if len(self._content_free) < 256 and "N/A" in prompt:
            self._content_free[key] = probabilities  # content-free prompts repeat; real inputs do not
        return probabilities

    @staticmethod
    def _sequence_logprob(llama: Any, prompt_ids: list[int], logits: np.ndarray, text: str) -> float:
        ids = llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        llama.n_tokens = len(prompt_ids)
        total = 0.0
        for position, token in enumerate(ids):
            total += float(_log_softmax(logits)[token])
            if position < len(ids) - 1:
                llama.eval([token])
                logits = _last_logits(llama)
        llama.n_tokens = len(prompt_ids)
        return total

    @staticmethod
    def _eval_prefix_shared(llama: Any, prompt_ids: list[int]) -> np.ndarray:
        """Evaluate ``prompt_ids`` reusing the KV cache of the longest common prefix; last logits."""
        shared = LlamaCppEngine._common_prefix(llama, prompt_ids)
        shared = min(shared, len(prompt_ids) - 1)  # the last token is always run, for its logits
        llama.n_tokens = shared
        llama.eval(prompt_ids[shared:])
        return _last_logits(llama)

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


_PREFIX_TOKENS: dict[tuple[int, tuple[str, ...]], dict[int, set[int]]] = {}


def _prefix_tokens(llama: Any, choices: tuple[str, ...]) -> dict[int, set[int]]:
    """Token id -> indices of the choices it can start (single tokens spelling a choice prefix)."""
    key = (id(llama), choices)
    if key not in _PREFIX_TOKENS:
        owners: dict[int, set[int]] = {}
        for index, choice in enumerate(choices):
            starts = {llama.tokenize(choice.encode("utf-8"), add_bos=False, special=False)[0]}
            for end in range(1, len(choice) + 1):
                ids = llama.tokenize(choice[:end].encode("utf-8"), add_bos=False, special=False)
                if len(ids) == 1:
                    starts.add(ids[0])
            for token in starts:
                owners.setdefault(token, set()).add(index)
        _PREFIX_TOKENS[key] = owners
    return _PREFIX_TOKENS[key]


def _last_logits(llama: Any) -> np.ndarray:
    return np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)).copy()


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max()
    return shifted - np.log(np.exp(shifted).sum())


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
