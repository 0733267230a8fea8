"""The student's answers to rule lists, asked once per (instructions, example) pair in a run."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import dspy

from pld.budget import CallBudget
from pld.evaluate import predict_one
from pld.metrics import LabelScores, MacroF1, score_labels
from pld.render import render_instructions, with_rules
from pld.rules import example_key


class StudentScorer:
    """Scores rule lists by Macro F1 on the student, remembering every answer it has seen.

    The memo is keyed by the rendered instructions, so the same list reached twice (or two
    lists that render alike) never costs a second student call.
    """

    def __init__(
        self,
        program: dspy.Module,
        bases: dict[str, str],
        student_lm: dspy.BaseLM,
        metric: MacroF1,
        budget: CallBudget,
    ):
        self.program = program
        self.bases = bases
        self.student_lm = student_lm
        self.metric = metric
        self.budget = budget
        self._answers: dict[tuple[str, str], str | None] = {}
        self.queries = 0

    def prompt_key(self, rules: Sequence[str]) -> str:
        rendered = "\x00".join(render_instructions(base, rules) for base in self.bases.values())
        return hashlib.sha256(rendered.encode("utf-8")).hexdigest()

    def labels(self, rules: Sequence[str], examples: Sequence[dspy.Example]) -> list[str | None]:
        """Predicted labels; unseen pairs are asked in order, charged to the budget one by one."""
        prompt = self.prompt_key(rules)
        program = None
        labels = []
        for example in examples:
            key = (prompt, example_key(example))
            if key not in self._answers:
                if program is None:
                    program = with_rules(self.program, self.bases, rules)
                self.budget.charge()
                prediction, _ = predict_one(program, example, self.student_lm)
                self.queries += 1
                self._answers[key] = self.metric.predicted_label(prediction)
            labels.append(self._answers[key])
        return labels

    def scores(self, rules: Sequence[str], examples: Sequence[dspy.Example]) -> LabelScores:
        gold = [str(example[self.metric.label_field]) for example in examples]
        return score_labels(gold, self.labels(rules, examples), self.metric.labels or ())

    def macro_f1(self, rules: Sequence[str], examples: Sequence[dspy.Example]) -> float:
        return self.scores(rules, examples).macro_f1

    def seen(self, rules: Sequence[str], examples: Sequence[dspy.Example]) -> bool:
        prompt = self.prompt_key(rules)
        return all((prompt, example_key(example)) in self._answers for example in examples)
