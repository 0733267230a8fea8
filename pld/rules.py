"""The typed records that flow through a PLD run: traces, micro-rules, candidate rules."""

from __future__ import annotations

import hashlib
import json
import math
import re
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # annotations only: records and reports load without DSPy (pld show)
    import dspy


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


def example_key(example: dspy.Example) -> str:
    """A stable id for an example, from its inputs: identical inputs share one id."""
    payload = json.dumps({k: str(v) for k, v in sorted(example.inputs().items())}, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


class Trace(Frozen):
    """One teacher rationale for one training example, with the micro-rule it distilled."""

    example_key: str
    example_id: str | None
    inputs: dict[str, Any]
    mode: Literal["label-conditioned", "label-free"]
    gold_label: str | None
    teacher_label: str | None
    rationale: str
    micro_rule: str


class CandidateRule(Frozen):
    """A rule the greedy step may select, with where it came from."""

    id: str
    text: str
    source: Literal["cluster", "micro-rule", "mined", "repair"]
    cluster_size: int
    example_keys: tuple[str, ...]
    micro_rules: tuple[str, ...]
    evidence: str | None = None  # a mined rule's support in the training data


class GainEstimate(Frozen):
    """The Macro F1 difference ``new - old`` on ``n`` examples, with its bootstrap interval."""

    gain: float
    low: float
    high: float
    confidence: float
    n: int
    changed: int  # examples whose predicted label differs between the two lists
    p_value: float = 1.0  # one-sided paired permutation test of "no gain"

    def credible(self, min_gain: float) -> bool:
        """The gain holds up: the interval's lower end is above zero and reaches ``min_gain`` (the
        smallest gain worth having is tested against the bound, not the point estimate), and the
        permutation test agrees at the interval's one-sided level."""
        return not self.shortfall(min_gain)

    def shortfall(self, min_gain: float) -> str:
        """Why ``credible(min_gain)`` fails, in words ("" when it holds): the two tests can disagree
        near the boundary (a bootstrap interval just above 0, a permutation p just above its level)."""
        alpha = (1 - self.confidence) / 2
        if self.gain <= 0 or self.low <= 0:
            return "its interval reaches 0"
        if self.low < min_gain:
            return f"its interval's lower end is below min_gain = {min_gain:g}"
        if self.p_value > alpha:
            return f"the permutation test's p = {self.p_value:.3g} is above the level {alpha:.3g}"
        return ""

    def can_reach(self, min_gain: float) -> bool:
        """Whether the true gain may still be ``min_gain`` or more (racing drops a list when not)."""
        return self.high >= min_gain and self.high > 0

    def can_be_accepted_on(self, total: int, min_gain: float) -> bool:
        """Whether scoring ``total`` examples in all may still make this gain credible: assume,
        optimistically, that the examples still to come show the gain at the interval's upper end,
        and shrink the interval as the square root of the sample size; if even then the expected
        interval on ``total`` examples reaches down to 0, or the expected gain stays below
        ``min_gain``, finishing is futile (stochastic curtailment)."""
        if not self.can_reach(min_gain):
            return False
        if total <= self.n:
            return True
        z = NormalDist().inv_cdf(0.5 + self.confidence / 2)
        standard_error = (self.high - self.low) / (2 * z)
        expected = (self.n * self.gain + (total - self.n) * self.high) / total
        bound = expected - z * standard_error * math.sqrt(self.n / total)
        return expected >= min_gain and bound > 0 and bound >= min_gain

    def describe(self) -> str:
        """``+0.041 [95% CI +0.012, +0.070], p=0.003, n=120``."""
        return (f"{self.gain:+.3f} [{self.confidence:.0%} CI {self.low:+.3f}, {self.high:+.3f}], "
                f"p={self.p_value:.3g}, n={self.n}")


class SelectedRule(Frozen):
    """A rule in the compiled program, in order, with the validation gain it brought."""

    candidate_id: str
    text: str
    marginal_gain: float | None  # None for rules a repair rewrite introduced
    source: str
    example_keys: tuple[str, ...]
    gain_estimate: GainEstimate | None = None  # the gain when added, with its paired interval (pld.pipeline.gains)


RejectionStage = Literal["micro-rule", "candidate", "repair"]


class RejectedRule(Frozen):
    """A rule text kept out of the student's instructions: what, at which stage, why, from where.

    ``kind`` is the hygiene check that failed (pld.pipeline.hygiene), or ``no-gain`` / ``not-scored`` for
    a repair rewrite that was safe but not kept; ``example_keys`` are the training examples whose
    traces produced the text (for a repair rewrite, the examples shown to the teacher).
    """

    text: str
    stage: RejectionStage
    kind: str
    reason: str
    example_keys: tuple[str, ...] = ()
    round: int | None = None  # the repair round, for repair rewrites


class ExampleRef(Frozen):
    """A training example as a reviewer sees it: its key, its id (when the data has one), a glimpse."""

    key: str
    id: str | None
    excerpt: str


EXCERPT_CHARS = 80


def excerpt(inputs: dict[str, Any], limit: int = EXCERPT_CHARS) -> str:
    """The first ``limit`` characters of an example's input values, on one line."""
    text = " | ".join(" ".join(str(value).split()) for value in inputs.values())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_IF_CLAUSE = re.compile(r"\b(if|when|whenever)\b(?!-)", re.I)
_PROMPT_ECHO = re.compile(r"rule for deciding|if-then instruction|naming no specific", re.I)
MAX_RULE_WORDS = 60


def clean_rule(text: str) -> str:
    """One sentence, preferably the if-then clause a small teacher buries in its prose."""
    line = " ".join(text.split()).lstrip("-*•0123456789.) ").strip().strip('"').strip()
    if not line:
        return ""
    sentences = [s for s in _SENTENCE_END.split(line) if not _PROMPT_ECHO.search(s)] or [""]
    chosen = next((s for s in sentences if _IF_CLAUSE.search(s)), sentences[0])
    match = _IF_CLAUSE.search(chosen)
    if match and match.start() > 0 and chosen[: match.start()].rstrip().endswith((":", "that", ",")):
        chosen = chosen[match.start():]
    if not chosen:
        return ""
    chosen = chosen[0].upper() + chosen[1:]
    words = chosen.split()
    return " ".join(words[:MAX_RULE_WORDS]).rstrip(",;:") + ("…" if len(words) > MAX_RULE_WORDS else "")


def generalize_rule(rule: str, inputs: dict[str, Any], max_words: int = 4) -> str:
    """Replace short input values (names, targets) quoted from the example with "the <field>"."""
    for name, value in inputs.items():
        text = str(value).strip()
        if text and len(text.split()) <= max_words and len(text) >= 3:
            rule = re.sub(rf"\b(the\s+)?{re.escape(text)}\b", f"the {name}", rule, flags=re.I)
    return rule[:1].upper() + rule[1:]
