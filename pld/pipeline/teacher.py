"""The teacher: DSPy signatures for each of its jobs, inside one module so they can be inspected
(and optimized) like any DSPy program."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import dspy

from pld.rules import clean_rule


class ExplainGoldLabel(dspy.Signature):
    """You are an expert annotator teaching a small model. Given a classification task, one input
    and its correct label, explain briefly why that label is correct; where the text alone would
    suggest another label, find the input field whose value explains this one. Then write one
    general rule that decides cases like this one: an if-then instruction whose condition a reader
    can check in the input (a field's value, or a kind of content), naming no person, company or
    product from this example."""

    task: str = dspy.InputField(desc="what must be decided, and the allowed labels")
    example: str = dspy.InputField(desc="the input to classify")
    label: str = dspy.InputField(desc="the correct label for this input")
    reasoning: str = dspy.OutputField(desc="two or three sentences")
    rule: str = dspy.OutputField(desc='one sentence of the form "If <general condition>, the answer is <label>."')


class ExplainAgainstContrast(dspy.Signature):
    """You are an expert annotator teaching a small model. Given a classification task, one input
    with its correct label, and a similar input that has a different label, explain briefly what
    in this input decides its label; the fields that differ between the two are the likely reason.
    Then write one general rule that decides cases like this one: an if-then instruction whose
    condition a reader can check in the input (a field's value, or a kind of content), naming no
    person, company or product from this example."""

    task: str = dspy.InputField(desc="what must be decided, and the allowed labels")
    example: str = dspy.InputField(desc="the input to classify")
    label: str = dspy.InputField(desc="the correct label for this input")
    contrast: str = dspy.InputField(desc="a similar input whose correct label is different, with that label")
    differences: str = dspy.InputField(desc="the fields whose values differ between the two inputs")
    reasoning: str = dspy.OutputField(desc="two or three sentences")
    rule: str = dspy.OutputField(desc='one sentence of the form "If <general condition>, the answer is <label>."')


class PredictAndExplain(dspy.Signature):
    """You are an expert annotator teaching a small model. Given a classification task and one
    input, reason briefly, choose the label, then write one general rule that decides cases like
    this one: an if-then instruction whose condition a reader can check in the input (a field's
    value, or a kind of content), naming no person, company or product from this example."""

    task: str = dspy.InputField(desc="what must be decided, and the allowed labels")
    example: str = dspy.InputField(desc="the input to classify")
    reasoning: str = dspy.OutputField(desc="two or three sentences")
    label: str = dspy.OutputField(desc="one of the allowed labels")
    rule: str = dspy.OutputField(desc='one sentence of the form "If <general condition>, the answer is <label>."')


class PredictLabel(dspy.Signature):
    """You are an expert annotator. Given a classification task and one input, choose the label."""

    task: str = dspy.InputField(desc="what must be decided, and the allowed labels")
    example: str = dspy.InputField(desc="the input to classify")
    label: str = dspy.OutputField(desc="one of the allowed labels")


class MergeRules(dspy.Signature):
    """Several rules below say similar things and give the same answer. Merge them into one clear,
    general if-then rule that keeps the condition they share and that answer."""

    task: str = dspy.InputField(desc="what must be decided, and the allowed labels")
    rules: str = dspy.InputField(desc="similar rules, one per line")
    merged_rule: str = dspy.OutputField(desc="one general if-then rule, one sentence")


class ResolveConflicts(dspy.Signature):
    """A small model followed the numbered rules below and still answered some inputs wrongly.
    Rewrite the rule list so that it decides the failures correctly while still deciding the
    successes correctly: fix, reorder, add or drop rules. Keep every rule general (no names or
    details from the examples)."""

    task: str = dspy.InputField(desc="what must be decided, and the allowed labels")
    rules: str = dspy.InputField(desc="the current rules, one per line")
    failures: str = dspy.InputField(desc="inputs the model got wrong, with its answer and the correct label")
    successes: str = dspy.InputField(desc="inputs the model got right")
    revised_rules: str = dspy.OutputField(desc="the new rule list, one rule per line")


@dataclass(frozen=True)
class Contrast:
    """A similar training input with another gold label, as the teacher reads it."""

    text: str  # its fields and its label
    differences: str  # which fields differ, with both values where they are short


class Teacher(dspy.Module):
    """Every teacher prompt of PLD; ``labels`` types the label-free prediction as a Literal."""

    def __init__(self, labels: Sequence[str]):
        super().__init__()
        self.labels = tuple(labels)
        label_type = Literal[self.labels]  # type: ignore[valid-type]
        self.explain = dspy.Predict(ExplainGoldLabel)
        self.contrast = dspy.Predict(ExplainAgainstContrast)
        self.predict_and_explain = dspy.Predict(PredictAndExplain.with_updated_fields("label", type_=label_type))
        # Label only, no rationale: the cheap call for fine-tuning data that keeps no rationale.
        self.label_only = dspy.Predict(PredictLabel.with_updated_fields("label", type_=label_type))
        self.merge = dspy.Predict(MergeRules)
        self.resolve = dspy.Predict(ResolveConflicts)

    def forward(self, task: str, example: str, label: str | None = None,
                contrast: Contrast | None = None) -> dspy.Prediction:
        """A rationale trace: label-conditioned when ``label`` is given, else label-free. With a
        ``contrast`` (a similar input with another label) the teacher explains the difference,
        which is where a house policy shows: same topic, other label, one field changed."""
        if label is not None and contrast is not None:
            result = self.contrast(task=task, example=example, label=label, contrast=contrast.text,
                                   differences=contrast.differences)
            return dspy.Prediction(reasoning=result.reasoning, label=label, rule=clean_rule(result.rule))
        if label is not None:
            result = self.explain(task=task, example=example, label=label)
            return dspy.Prediction(reasoning=result.reasoning, label=label, rule=clean_rule(result.rule))
        result = self.predict_and_explain(task=task, example=example)
        return dspy.Prediction(reasoning=result.reasoning, label=result.label, rule=clean_rule(result.rule))

    def predict_label(self, task: str, example: str) -> str:
        """The teacher's label for one input, without a rationale (fewer completion tokens)."""
        return str(self.label_only(task=task, example=example).label)

    def merge_rules(self, task: str, rules: Sequence[str]) -> str:
        return clean_rule(self.merge(task=task, rules="\n".join(rules)).merged_rule)

    def resolve_conflicts(self, task: str, rules: Sequence[str], failures: str, successes: str) -> list[str]:
        numbered = "\n".join(f"{i}. {rule}" for i, rule in enumerate(rules, 1))
        result = self.resolve(task=task, rules=numbered, failures=failures, successes=successes)
        return [r for r in (clean_rule(line) for line in result.revised_rules.splitlines()) if len(r) > 3]
