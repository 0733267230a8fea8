"""The typed records of a fine-tuning data export, and the quality filters that judge them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

DropReason = Literal["teacher_failed", "label_disagrees", "empty_rationale", "rationale_restates_label",
                     "rationale_names_other_label"]
DROP_REASONS: tuple[DropReason, ...] = ("teacher_failed", "label_disagrees", "empty_rationale",
                                        "rationale_restates_label", "rationale_names_other_label")

# Words that carry no evidence in a rationale: once these and the label's own words are removed,
# a rationale that only says "the label is X" has (almost) nothing left.
FILLER_WORDS = frozenset("""
a an the this that these those it its is are was were be been being so thus therefore hence because
since as of to in on for and or not no which why how what correct correctly label labeled labelled
answer answers class category classified classify given input example case sentence text statement
should would must can could clearly obviously here there fits best option choice
""".split())
MIN_CONTENT_WORDS = 3


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class DistillRecord(Frozen):
    """One example of the data set: its input, the teacher's label and rationale, why it was dropped."""

    id: str
    example_key: str
    inputs: dict[str, str]
    input_text: str  # the input exactly as the teacher read it (``render_example``)
    mode: Literal["label-conditioned", "label-free"]
    gold_label: str | None
    teacher_label: str | None
    rationale: str | None  # None: no rationale was asked for (``rationale_fraction`` < 1)
    micro_rule: str | None
    drop_reason: DropReason | None = None

    @property
    def kept(self) -> bool:
        return self.drop_reason is None


def _words(text: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)  # NotMentioned -> Not Mentioned
    return re.findall(r"[a-z0-9]+", spaced.lower())


def restates_label(rationale: str, labels: Sequence[str], min_content_words: int = MIN_CONTENT_WORDS) -> bool:
    """True when the rationale says little beyond a label: fewer than ``min_content_words`` words
    remain after removing every label's words and filler words ("The answer is stereotype.")."""
    label_words = {word for label in labels for word in _words(label)}
    content = [w for w in _words(rationale) if w not in label_words and w not in FILLER_WORDS]
    return len(content) < min_content_words


_CONCLUSION = re.compile(r"\b(?:label|answer)\s*(?:is|should be|would be|=|:)\s*[\"'`(]*(?P<value>[\w-]+)", re.I)


def names_other_label(rationale: str, label: str, labels: Sequence[str]) -> bool:
    """True when the rationale states another label as the answer ("... the label is unrelated")
    while the record's label is ``label``: small teachers do that even when told the gold label."""
    known = {other.lower() for other in labels}
    return any(m["value"].lower() in known and m["value"].lower() != label.lower()
               for m in _CONCLUSION.finditer(rationale))


def drop_reason(record: DistillRecord, labels: Sequence[str]) -> DropReason | None:
    """The first quality filter a record fails, or None when it is kept."""
    if record.teacher_label is None:
        return "teacher_failed"
    if record.gold_label is not None and record.teacher_label != record.gold_label:
        return "label_disagrees"
    if record.rationale is not None:
        if not record.rationale.strip():
            return "empty_rationale"
        if restates_label(record.rationale, labels):
            return "rationale_restates_label"
        if names_other_label(record.rationale, record.teacher_label, labels):
            return "rationale_names_other_label"
    return None


class TokenCount(Frozen):
    """Prompt and completion tokens of some teacher calls."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class KShotComparison(Frozen):
    """Prompt tokens of the teacher's zero-shot prompts against the same prompts with k demos."""

    k: int
    calls: int
    zero_shot_prompt_tokens: int
    k_shot_prompt_tokens: int
    saved_tokens: int
    saved_fraction: float
    tokenizer: str  # "teacher" (the embedded model's own) or the estimate used


class DistillCosts(Frozen):
    """What the data cost the teacher.

    ``spent`` is this run's real model work (cache hits cost nothing); ``data`` counts the tokens
    of every teacher call behind the data, cached or not, from the real prompts and answers.
    """

    teacher_calls: int
    new_teacher_calls: int
    cache_hits: int
    spent: TokenCount
    data: TokenCount
    data_per_example: dict[str, float]
    rationale_calls: TokenCount
    label_only_calls: TokenCount
    skipped_rationales: int
    rationale_saving_tokens: int | None  # estimated tokens not spent by skipping rationales
    k_shot: KShotComparison | None


class DistillReport(Frozen):
    """What an export holds, what it dropped and why, and what it cost."""

    teacher_model: str
    mode: Literal["label-conditioned", "label-free"]
    label_field: str
    labels: list[str]
    n_examples: int
    rationale_fraction: float
    seed: int
    rationales_requested: int
    kept: int
    kept_with_rationale: int
    dropped: dict[str, int]
    teacher_accuracy: float | None  # label-free only: the teacher's labels against gold, where gold exists
    costs: DistillCosts
    source: dict[str, str | int | None] = {}  # task, split, teacher spec: set by the job that ran it

    def summary(self) -> str:
        """A few lines for the terminal."""
        c = self.costs
        dropped = ", ".join(f"{reason} {n}" for reason, n in self.dropped.items() if n) or "none"
        lines = [
            f"{self.n_examples} examples ({self.mode} traces, rationale on {self.rationales_requested}, "
            f"fraction {self.rationale_fraction:g}): kept {self.kept} ({self.kept_with_rationale} with rationale); "
            f"dropped {sum(self.dropped.values())}: {dropped}",
        ]
        if self.teacher_accuracy is not None:
            lines.append(f"teacher accuracy against gold: {self.teacher_accuracy:.3f}")
        lines.append(f"teacher calls: {c.teacher_calls} ({c.new_teacher_calls} new, {c.cache_hits} from the cache); "
                     f"spent this run: {c.spent.prompt_tokens} prompt + {c.spent.completion_tokens} completion tokens")
        per = c.data_per_example
        lines.append(f"data cost: {c.data.prompt_tokens} prompt + {c.data.completion_tokens} completion tokens "
                     f"({per['prompt_tokens']:.0f} + {per['completion_tokens']:.0f} per example)")
        if c.rationale_saving_tokens is not None and c.skipped_rationales:
            lines.append(f"skipping {c.skipped_rationales} rationales saved about {c.rationale_saving_tokens} tokens")
        if c.k_shot is not None:
            k = c.k_shot
            lines.append(f"zero-shot vs {k.k}-shot teacher prompts: {k.zero_shot_prompt_tokens} vs "
                         f"{k.k_shot_prompt_tokens} prompt tokens, {k.saved_tokens} saved ({k.saved_fraction:.0%}; "
                         f"tokenizer: {k.tokenizer})")
        return "\n".join(lines)
