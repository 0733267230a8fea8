"""Token counts of teacher calls from the real prompts and answers, and the k-shot comparison.

Prompts are rebuilt with DSPy's ``ChatAdapter`` exactly as ``dspy.Predict`` sends them. For an
embedded teacher (``local/...``) they are counted with the teacher's own tokenizer over the chat
rendering the engine uses, so a count equals the engine's reported prompt tokens. For any other
teacher, tokens are estimated from UTF-8 bytes (about 4 per token for English; ``pld.usage.estimate_tokens``).
Answers are the raw completions DSPy hands its callbacks (``pld.usage.counting`` keeps them),
which cache hits include.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import dspy

from pld.distill.records import KShotComparison, TokenCount
from pld.usage import estimate_tokens

ESTIMATE = "estimate: UTF-8 bytes / 4"


@dataclass(frozen=True)
class TeacherCall:
    """One teacher request behind the data: which predictor's signature, its inputs and answer."""

    kind: Literal["rationale", "label"]
    signature: type[dspy.Signature]
    inputs: dict[str, str]
    outputs: dict[str, str]


@dataclass(frozen=True)
class Tokenizer:
    """Counts the tokens of a chat prompt and of a completion text."""

    prompt: Callable[[list[dict[str, Any]]], int]
    text: Callable[[str], int]
    name: str


def tokenizer_for(lm: dspy.BaseLM) -> Tokenizer:
    """The teacher's own tokenizer when it is an embedded model, else the character estimate."""
    from pld.backends.local.lm import engine_of

    engine = engine_of(lm)
    if engine is None:
        return Tokenizer(prompt=lambda messages: _estimate("".join(_text(m) for m in messages)),
                         text=_estimate, name=ESTIMATE)

    def count_prompt(messages: list[dict[str, Any]]) -> int:
        system = "".join(_text(m) for m in messages if m["role"] == "system") or None
        turns = [(m["role"], _text(m)) for m in messages if m["role"] != "system"]
        return len(engine.prompt_ids(system, turns))

    return Tokenizer(prompt=count_prompt, text=lambda text: len(engine.tokenize(text, prompt=False)), name="teacher")


def _text(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def _estimate(text: str) -> int:
    return estimate_tokens(text)


def prompt_messages(call: TeacherCall, demos: Sequence[TeacherCall] = ()) -> list[dict[str, Any]]:
    """The messages ``dspy.Predict`` sends for ``call``, optionally with ``demos`` as few-shot examples."""
    return dspy.ChatAdapter().format(call.signature, [{**d.inputs, **d.outputs} for d in demos], dict(call.inputs))


def count_calls(calls: Sequence[TeacherCall], completions: Sequence[str], tokenizer: Tokenizer) -> TokenCount:
    """Tokens of the zero-shot prompts of ``calls`` and of the teacher's raw ``completions``."""
    return TokenCount(calls=len(calls), prompt_tokens=sum(tokenizer.prompt(prompt_messages(call)) for call in calls),
                      completion_tokens=sum(tokenizer.text(text) for text in completions))


def compare_k_shot(calls: Sequence[TeacherCall], tokenizer: Tokenizer, k: int, seed: int) -> KShotComparison | None:
    """Zero-shot prompt tokens against a k-shot prompt for the same calls.

    The k demos are a fixed, seeded choice among the calls of the same kind (real teacher
    answers), as a k-shot prompt would carry the same demos for every example.
    """
    if k < 1 or not calls:
        return None
    rng = random.Random(seed)
    zero = few = 0
    used_k = k
    for kind in ("rationale", "label"):
        group = [call for call in calls if call.kind == kind]
        if not group:
            continue
        demos = rng.sample(group, min(k, len(group)))
        used_k = min(used_k, len(demos))
        for call in group:
            zero += tokenizer.prompt(prompt_messages(call))
            few += tokenizer.prompt(prompt_messages(call, demos))
    saved = few - zero
    return KShotComparison(k=used_k, calls=len(calls), zero_shot_prompt_tokens=zero, k_shot_prompt_tokens=few,
                           saved_tokens=saved, saved_fraction=round(saved / few, 4) if few else 0.0,
                           tokenizer=tokenizer.name)
