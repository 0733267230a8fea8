"""Candidate rules mined from the labelled training data: "If the <field> is <value>, the answer is <label>."

A team's house policy often keys on a structured field (the customer's plan, how an order was
paid) that the text does not reveal. A small teacher reading one example at a time rarely sees
it; the labels across many examples show it plainly: among training examples whose ``plan`` is
``Enterprise``, nearly all are labelled ``priority``, far above that label's base rate. Such a
pattern becomes a candidate rule worded from a template, so the student reads the field's name
and value exactly as they appear in its input. Like every candidate, it enters the program only
if it raises the student's validation Macro F1 credibly (``pld.pipeline.selection``).

When the label is also (nearly) exclusive to that value — almost every example with the label
has the value — the rule says so ("...; if the <field> is not <value>, the answer is never
<label>"): small students otherwise answer a label named in a lone rule for every input. When it
is not, the rule states its scope instead ("...; for any other <field>, this rule does not apply").

Mined rules form a decision list (each found among the examples the earlier ones leave), and a
list can help where each of its rules alone hurts: a student told one override answers its label
for every input, while two overrides that name different labels hold each other in check. Greedy
selection, which adds one candidate at a time, cannot find such a pair, so the list is also
offered whole, as one candidate of several lines (``decision_list``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import dspy

from pld.rules import example_key

MIN_PRECISION = 0.8  # share of the value's examples that carry the label
MIN_LIFT = 1.5  # precision over the label's base rate
MIN_EXCLUSIVE = 0.8  # share of the label's examples that carry the value, for the exclusive wording


@dataclass(frozen=True)
class MinedRule:
    """One field-value pattern and its evidence in the training data."""

    field: str
    value: str
    label: str
    support: int  # training examples with this value
    precision: float  # of those, the share labelled ``label``
    coverage: float  # of the examples labelled ``label``, the share with this value
    example_keys: tuple[str, ...]
    after: int = 0  # mined rules before this one: its counts are among the examples they do not cover

    @property
    def text(self) -> str:
        rule = f"If the {self.field} is {self.value}, the answer is {self.label}"
        if self.coverage >= MIN_EXCLUSIVE:
            rule += f"; if the {self.field} is not {self.value}, the answer is never {self.label}"
        else:
            rule += f"; for any other {self.field}, this rule does not apply"
        return rule + "."

    @property
    def evidence(self) -> str:
        return (f"{round(self.precision * self.support)} of {self.support} training examples with "
                f"{self.field} = {self.value!r} are labelled {self.label!r} ({self.coverage:.0%} of that label's)"
                + (", among those no earlier mined rule covers" if self.after else ""))


def decision_list(rules: Sequence[MinedRule]) -> str:
    """The rules as one candidate: one line each, in the order they were mined (the order of
    priority the instructions give them; ``pld.pipeline.render`` numbers each line)."""
    return "\n".join(rule.text for rule in rules)


def mine_field_rules(examples: Sequence[dspy.Example], label_field: str, fields: Sequence[str], *,
                     min_support: int | None = None, max_rules: int = 8) -> list[MinedRule]:
    """Field-value patterns whose label is far more likely than its base rate, as a decision list.

    Sequential covering (as in CN2 or RIPPER): take the strongest pattern, set aside the examples
    it covers, and look again among the rest, so a pattern that holds only where an earlier one
    does not (partner-portal tickets go to billing, unless the plan is Enterprise) is found with
    its true precision. ``fields`` are the categorical input fields
    (``pld.pipeline.traces.categorical_fields``); ``min_support`` defaults to 5 % of the
    examples, at least 3."""
    remaining = [ex for ex in examples if ex.get(label_field) is not None]
    if not remaining or not fields:
        return []
    support_needed = min_support if min_support is not None else max(3, round(0.05 * len(remaining)))
    totals = Counter(str(ex[label_field]) for ex in remaining)
    mined: list[MinedRule] = []
    while len(mined) < max_rules:
        best = _strongest(remaining, label_field, fields, support_needed, totals)
        if best is None:
            break
        mined.append(dataclasses.replace(best, after=len(mined)))
        remaining = [ex for ex in remaining if str(ex.get(best.field, "")).strip() != best.value]
    return mined


def _strongest(examples: Sequence[dspy.Example], label_field: str, fields: Sequence[str], support_needed: int,
               totals: Counter[str]) -> MinedRule | None:
    """The pattern covering the most correctly labelled examples among ``examples``, if any qualifies."""
    base = Counter(str(ex[label_field]) for ex in examples)
    n = len(examples)
    found: list[MinedRule] = []
    for field in fields:
        groups: dict[str, list[dspy.Example]] = defaultdict(list)
        for ex in examples:
            groups[str(ex.get(field, "")).strip()].append(ex)
        for value, members in groups.items():
            if not value or len(members) < support_needed or len(members) == n:
                continue
            label, count = Counter(str(ex[label_field]) for ex in members).most_common(1)[0]
            precision = count / len(members)
            if precision < MIN_PRECISION or precision < MIN_LIFT * base[label] / n:
                continue
            found.append(MinedRule(field=field, value=value, label=label, support=len(members), precision=precision,
                                   coverage=count / totals[label],
                                   example_keys=tuple(example_key(ex) for ex in members
                                                      if str(ex[label_field]) == label)))
    return max(found, key=lambda rule: (rule.precision * rule.support, rule.field, rule.value), default=None)
