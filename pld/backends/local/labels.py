"""Choosing a label from the model's logits after one pass over the prompt: no token generated.

The KV cache of the prompt prefix shared with the previous call is reused, so a rule list that
opens every prompt is computed once per run of examples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pld.backends.decoding import prefix_tokens, shared_prefix_length


def common_prefix(llama: Any, prompt_ids: list[int]) -> int:
    """How many leading tokens of ``prompt_ids`` the model's KV cache already holds."""
    return shared_prefix_length(llama.input_ids[: llama.n_tokens], prompt_ids)


def eval_prefix_shared(llama: Any, prompt_ids: list[int]) -> np.ndarray:
    """Evaluate ``prompt_ids`` after the cached common prefix; the last position's logits."""
    shared = min(common_prefix(llama, prompt_ids), len(prompt_ids) - 1)  # the last token runs, for its logits
    llama.n_tokens = shared
    llama.eval(prompt_ids[shared:])
    return last_logits(llama)


def last_logits(llama: Any) -> np.ndarray:
    # llama-cpp-python fills Llama.scores only with logits_all=True: read the context's buffer.
    return np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)).copy()


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max()
    return shifted - np.log(np.exp(shifted).sum())


class LabelScorer:
    """Picks the choice greedy grammar-constrained decoding would pick, from one prompt pass.

    A grammar admits as first token any vocabulary token that spells a prefix of a choice; at
    temperature 0 it takes the highest-logit one, which settles the choice when that token
    belongs to one choice only. Scoring takes the same maximum without generating. When the
    winning token is shared by several choices, those are ranked by the summed log-probability
    of their own tokens (one extra step per token). With a content-free prompt (contextual
    calibration, Zhao et al. 2021) each choice's probability is divided by its probability for
    a content-free input before the maximum is taken.
    """

    def __init__(self, llama: Any):
        self.llama = llama
        self._owners: dict[tuple[str, ...], dict[int, set[int]]] = {}
        self._content_free: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}

    def choose(self, prompt: str, choices: tuple[str, ...], content_free_prompt: str | None = None) -> str:
        owners = self._prefix_tokens(choices)
        if content_free_prompt is not None:
            baseline = self._probabilities(content_free_prompt, choices, remember=True)
            probabilities = self._probabilities(prompt, choices)
            return choices[int(np.argmax(probabilities / np.maximum(baseline, 1e-12)))]
        prompt_ids = self._tokenize(prompt)
        logits = eval_prefix_shared(self.llama, prompt_ids)
        best = max(owners, key=lambda token: logits[token])
        tied = sorted(owners[best])
        if len(tied) == 1:
            return choices[tied[0]]
        totals = {index: self._sequence_logprob(prompt_ids, logits, choices[index]) for index in tied}
        return choices[max(totals, key=totals.__getitem__)]

    def summed_logprobs(self, prompt: str, choices: tuple[str, ...]) -> list[float]:
        """Each choice's summed log-probability of its own tokens: the rule served engines use
        (``pld.backends.served_labels``), here to compare the two on the same prompts."""
        prompt_ids = self._tokenize(prompt)
        logits = eval_prefix_shared(self.llama, prompt_ids)
        return [self._sequence_logprob(prompt_ids, logits, choice) for choice in choices]

    def _tokenize(self, text: str, *, prompt: bool = True) -> list[int]:
        return self.llama.tokenize(text.encode("utf-8"), add_bos=prompt, special=prompt)

    def _prefix_tokens(self, choices: tuple[str, ...]) -> dict[int, set[int]]:
        if choices not in self._owners:
            self._owners[choices] = prefix_tokens(choices, lambda text: self._tokenize(text, prompt=False))
        return self._owners[choices]

    def _probabilities(self, prompt: str, choices: tuple[str, ...], *, remember: bool = False) -> np.ndarray:
        """Each choice's probability from its best first token, renormalised over the choices."""
        key = (prompt, choices)
        if key in self._content_free:
            return self._content_free[key]
        logits = eval_prefix_shared(self.llama, self._tokenize(prompt))
        best = np.full(len(choices), -np.inf)
        for token, indices in self._prefix_tokens(choices).items():
            for index in indices:
                best[index] = max(best[index], logits[token])
        probabilities = np.exp(best - best.max())
        probabilities /= probabilities.sum()
        if remember and len(self._content_free) < 256:
            self._content_free[key] = probabilities  # content-free prompts repeat per rule list
        return probabilities

    def _sequence_logprob(self, prompt_ids: list[int], logits: np.ndarray, text: str) -> float:
        self.llama.n_tokens = len(prompt_ids)
        total = 0.0
        ids = self._tokenize(text, prompt=False)
        for position, token in enumerate(ids):
            total += float(log_softmax(logits)[token])
            if position < len(ids) - 1:
                self.llama.eval([token])
                logits = last_logits(self.llama)
        self.llama.n_tokens = len(prompt_ids)
        return total
