"""The student's answers to rule lists, asked once per (instructions, example) pair in a run."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import dspy

from pld.budget import CallBudget
from pld.evaluate import run_program
from pld.metrics import LabelScores, MacroF1, score_labels
from pld.pipeline.render import render_instructions, with_rules
from pld.rules import example_key


MIN_EXAMPLES_FOR_NO_VALID = 8  # a batch this large with no valid label is a broken student, not bad luck


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
        *,
        num_threads: int = 1,
    ):
        self.program = program
        self.bases = bases
        self.student_lm = student_lm
        self.metric = metric
        self.budget = budget
        self.num_threads = num_threads
        self.on_query: Callable[[int], object] | None = None  # progress: called with the calls just made
        self._answers: dict[tuple[str, str], str | None] = {}
        self.queries = 0

    def prompt_key(self, rules: Sequence[str]) -> str:
        rendered = "\x00".join(render_instructions(base, rules) for base in self.bases.values())
        return hashlib.sha256(rendered.encode("utf-8")).hexdigest()

    def labels(self, rules: Sequence[str], examples: Sequence[dspy.Example]) -> list[str | None]:
        """Predicted labels; unseen pairs are charged to the budget, then asked (concurrently for
        servers). When the budget runs out, the pairs already charged are still asked and kept."""
        prompt = self.prompt_key(rules)
        missing = list({example_key(ex): ex for ex in examples if (prompt, example_key(ex)) not in self._answers}.values())
        charged: list[dspy.Example] = []
        try:
            for example in missing:
                self.budget.charge()
                charged.append(example)
        finally:
            if charged:
                self._ask(with_rules(self.program, self.bases, rules), prompt, charged)
        return [self._answers[(prompt, example_key(example))] for example in examples]

    def _ask(self, program: dspy.Module, prompt: str, examples: list[dspy.Example]) -> None:
        predictions, _ = run_program(program, examples, self.student_lm, num_threads=self.num_threads)
        answers = [self.metric.predicted_label(prediction) for prediction in predictions]
        labels = set(self.metric.labels or ())
        if len(examples) >= MIN_EXAMPLES_FOR_NO_VALID and not any(answer in labels for answer in answers):
            from pld.errors import StudentError

            raise StudentError(f"the student gave no valid label ({', '.join(sorted(labels))}) on any of "
                               f"{len(examples)} examples: check that it can answer this task's format "
                               "(pld evaluate shows its answers) before selecting rules with it")
        for example, answer in zip(examples, answers):
            self._answers[(prompt, example_key(example))] = answer
        self.queries += len(examples)
        if self.on_query is not None:
            self.on_query(len(examples))

    def scores(self, rules: Sequence[str], examples: Sequence[dspy.Example]) -> LabelScores:
        gold = [str(example[self.metric.label_field]) for example in examples]
        return score_labels(gold, self.labels(rules, examples), self.metric.labels or ())

    def macro_f1(self, rules: Sequence[str], examples: Sequence[dspy.Example]) -> float:
        return self.scores(rules, examples).macro_f1

    def seen(self, rules: Sequence[str], examples: Sequence[dspy.Example]) -> bool:
        prompt = self.prompt_key(rules)
        return all((prompt, example_key(example)) in self._answers for example in examples)

    def answered(self, rules: Sequence[str], examples: Sequence[dspy.Example]) -> list[dspy.Example]:
        """The examples the student has already answered under ``rules`` (scoring them is free)."""
        prompt = self.prompt_key(rules)
        return [example for example in examples if (prompt, example_key(example)) in self._answers]
