"""Small deterministic LMs of our own: DSPy engines whose answers are functions of the prompt.

DummyLM cannot react to instructions; these can, which is what rule selection needs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Literal

import dspy
from dspy.lm15 import Message, Response, TextPart, Usage

Responder = Callable[[str, str], dict[str, str]]


class FunctionEngine:
    """Answers ``respond(system, user) -> {field: value}`` in ChatAdapter's format; logs requests."""

    def __init__(self, respond: Responder):
        self.respond = respond
        self.requests: list[tuple[str, str]] = []

    def complete(self, request: dspy.lm15.Request) -> Response:
        system = request.system if isinstance(request.system, str) else "".join(p.text for p in request.system or ())
        user = request.messages[-1].text or ""
        self.requests.append((system, user))
        fields = self.respond(system, user)
        text = "".join(f"[[ ## {name} ## ]]\n{value}\n\n" for name, value in fields.items()) + "[[ ## completed ## ]]"
        usage = Usage(input_tokens=len(system.split()) + len(user.split()), output_tokens=len(text.split()))
        return Response(id=None, model=request.model, message=Message.assistant([TextPart(text)]),
                        finish_reason="stop", usage=usage)

    def stream(self, request):  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:
        pass


def function_lm(respond: Responder, name: str) -> tuple[dspy.LM, FunctionEngine]:
    engine = FunctionEngine(respond)
    return dspy.LM(f"test/{name}", engine=engine, cache=False), engine


class ServedFunctionEngine(FunctionEngine):
    """A ``FunctionEngine`` that counts its label paths as a served engine does: every
    ``fallback_every``-th answer was "decoded" under a grammar because scoring could not settle it."""

    def __init__(self, respond: Responder, fallback_every: int):
        super().__init__(respond)
        self.fallback_every = fallback_every
        self.label_paths: Counter[str] = Counter()
        self.fallback_reasons: Counter[str] = Counter()

    def complete(self, request: dspy.lm15.Request) -> Response:
        response = super().complete(request)
        if len(self.requests) % self.fallback_every:
            self.label_paths["logit-bias"] += 1
        else:
            self.label_paths["grammar"] += 1
            self.fallback_reasons["the server has no tokenize endpoint"] += 1
        return response


def served_function_lm(respond: Responder, name: str, fallback_every: int = 4) -> tuple[dspy.BaseLM, ServedFunctionEngine]:
    """A student that looks served (``openai/`` with a completions engine) to PLD's reports."""
    from pld.backends.base import BackendInfo, BackendLM

    engine = ServedFunctionEngine(respond, fallback_every)
    lm = BackendLM(f"test/{name}", backend=BackendInfo(spec=f"openai/{name}", kind="openai"), engine=engine, cache=False)
    return lm, engine


def field_value(text: str, name: str) -> str:
    match = re.search(rf"\[\[ ## {name} ## \]\]\n(.*?)(?:\n\n\[\[|\Z)", text, re.S)
    return match.group(1).strip() if match else ""


# --- a toy task whose student follows rules literally --------------------------------------
RULE_ALL_POS = "If the item is an ordinary item, answer pos."
RULE_SPECIAL_NEG = "If the item is marked special, answer neg."
RULE_ALL_NEG = "Answer neg for every item."


class ToySignature(dspy.Signature):
    """Label each item."""

    text: str = dspy.InputField()
    label: Literal["pos", "neg"] = dspy.OutputField()


def toy_examples(n_normal: int = 6, n_special: int = 2, start: int = 0) -> list[dspy.Example]:
    items = [(f"item {start + i}", "pos") for i in range(n_normal)]
    items += [(f"item {start + n_normal + i} special", "neg") for i in range(n_special)]
    return [dspy.Example(text=text, label=label).with_inputs("text") for text, label in items]


def rule_following_student(system: str, user: str) -> dict[str, str]:
    """Applies the known rules in the order they appear; the first that applies decides.

    ``RULE_ALL_POS`` applies to every item (the name misleads on purpose: order matters),
    ``RULE_SPECIAL_NEG`` only to special items, ``RULE_ALL_NEG`` to every item. With no rule,
    the student is wrong on every item.
    """
    item = field_value(user, "text")
    special = "special" in item
    present = sorted((system.find(rule), rule) for rule in (RULE_ALL_POS, RULE_SPECIAL_NEG, RULE_ALL_NEG) if rule in system)
    for _, rule in present:
        if rule == RULE_ALL_POS:
            return {"label": "pos"}
        if rule == RULE_ALL_NEG:
            return {"label": "neg"}
        if rule == RULE_SPECIAL_NEG and special:
            return {"label": "neg"}
    return {"label": "pos" if special else "neg"}


def rule_writing_teacher(system: str, user: str) -> dict[str, str]:
    """Writes the rule that fits each example; merges by keeping the first rule."""
    if "`merged_rule`" in system:
        return {"merged_rule": field_value(user, "rules").splitlines()[0]}
    if "`revised_rules`" in system:
        return {"revised_rules": RULE_ALL_NEG}  # a rewrite that hurts: must be rejected
    example = field_value(user, "example")
    rule = RULE_SPECIAL_NEG if "special" in example else RULE_ALL_POS
    fields = {"reasoning": f"The item {'is' if 'special' in example else 'is not'} special."}
    if "`label`" in system.split("Your output fields are:")[-1].split("All interactions")[0]:
        fields["label"] = "neg" if "special" in example else "pos"
    fields["rule"] = rule
    return fields


# --- a student whose rules are right on a graded share of items (racing) ------------------------
GRADED_RULES = {f"Rule number {k} decides it.": p for k, p in enumerate([0.9, 0.75, 0.6, 0.5, 0.4, 0.3])}


def graded_student(system: str, user: str) -> dict[str, str]:
    """The first known rule in the instructions decides; rule k is right on a fixed share of items."""
    text = field_value(user, "text")
    index = int(re.search(r"\d+", text).group())
    gold = "neg" if "special" in text else "pos"
    present = sorted((system.find(rule), rule) for rule in GRADED_RULES if rule in system)
    share = GRADED_RULES[present[0][1]] if present else 0.2
    right = (index * 7 + 3) % 20 < share * 20
    return {"label": gold if right else ("pos" if gold == "neg" else "neg")}


def toy_items(n: int) -> list[dspy.Example]:
    """``n`` items of ToySignature, every other one special (label neg)."""
    return [dspy.Example(text=f"item {i}{' special' if i % 2 else ''}", label="neg" if i % 2 else "pos").with_inputs("text")
            for i in range(n)]

