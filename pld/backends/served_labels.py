"""Exact label scoring through an OpenAI-compatible completions server.

A label's score is the summed log-probability of its own tokens (as the server tokenizes it),
each conditioned on the prompt and the label's earlier tokens. A server lists only the top-N
log-probabilities at a position, so a token outside the list has a known upper bound (the N-th
listed value), not a value. The search below is best-first: it extends the label with the highest
(possibly bounded) score one token at a time and stops when a fully scored, exact label beats every
other label's upper bound. That is the exact argmax of summed log-probabilities; when the bounds
cannot settle it, the caller falls back and records why. Never a prefix guess from one token.

Cost: one request for the prompt, plus one per further token of each label still in contention
(each shares the prompt prefix, which the server's KV cache reuses).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

TopLogprobs = dict[str, float]
# Asks the server for one token after ``text``: (its top log-probabilities, the prompt's token count).
Probe = Callable[[str], tuple[TopLogprobs, int]]


class ScoringFallback(Exception):
    """Exact scoring cannot decide; ``reason`` is the counter key that says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Label:
    index: int
    pieces: tuple[str, ...]  # the label's tokens, as text
    total: float = 0.0
    scored: int = 0
    exact: bool = True
    prefixes: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.scored == len(self.pieces)


def _logprob(top: TopLogprobs, piece: str) -> tuple[float, bool]:
    """The piece's log-probability if listed, else the listed minimum as an upper bound."""
    if piece in top:
        return top[piece], True
    if not top:
        raise ScoringFallback("no log-probabilities returned")
    return min(top.values()), False


def score_labels(prompt: str, label_pieces: list[tuple[str, ...]], probe: Probe) -> int:
    """Index of the label with the highest summed log-probability of its own tokens."""
    if any(not pieces for pieces in label_pieces):
        raise ScoringFallback("a label has no tokens")
    top, prompt_tokens = probe(prompt)
    cache: dict[str, TopLogprobs] = {prompt: top}
    labels = [_Label(index, pieces) for index, pieces in enumerate(label_pieces)]
    while True:
        best = max(labels, key=lambda label: label.total)
        if best.done:
            if not best.exact:
                raise ScoringFallback("label token outside the listed top log-probabilities")
            return best.index
        text = prompt + "".join(best.pieces[: best.scored])
        if text not in cache:
            cache[text], counted = probe(text)
            if counted != prompt_tokens + best.scored:
                raise ScoringFallback("label tokens merge with the prompt's last token")
        value, exact = _logprob(cache[text], best.pieces[best.scored])
        best.total += value
        best.exact &= exact
        best.scored += 1
