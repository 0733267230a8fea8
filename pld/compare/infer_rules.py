"""DSPy's ``InferRules`` with its candidate selection fixed.

``dspy.teleprompt.InferRules`` (3.4.1) writes ``predictor.signature.instructions``. Signature
classes are shared between program copies (and with the task's own signature class), so every
candidate ends up with the last candidate's rules, the best-scoring program it returns is really
the last one, and the task's signature is rewritten for everyone. ``BestInferRules`` keeps its
steps (bootstrapped demos, then ``num_candidates`` rule sets induced by the teacher from the
training examples, each scored on the validation set) but sets instructions with
``with_instructions`` on a deep copy and returns the best candidate, the earliest on ties. A
candidate whose rules the teacher fails to write is skipped (InferRules would fail the whole run),
unless the teacher cannot answer at all. When the training examples do not fit the teacher's
context, fewer are shown: InferRules means to drop examples then, but its check does not recognise
DSPy 3.4's own ``ContextWindowExceededError`` (its message does not name the class), so every
candidate failed instead.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import Any

import dspy
from dspy.teleprompt import BootstrapFewShot, InferRules
from dspy.utils.exceptions import ContextWindowExceededError

from pld.errors import PLDError
from pld.evaluate import evaluate_program
from pld.faults import raise_if_backend_fault, redact
from pld.metrics import MacroF1

logger = logging.getLogger(__name__)

RULES_PREAMBLE = "Please adhere to the following rules when making your prediction:"  # InferRules' own wording
SHRINK = 0.8  # the share of examples kept each time they overflow the teacher's context


class BestInferRules(InferRules):
    """InferRules scored by validation Macro F1 on ``student_lm``; the best candidate is returned.

    Args:
        metric: the comparison's metric; candidates are ranked by its Macro F1 on ``valset``.
        student_lm: the LM the candidates are scored with.
        seed: seeds the rollout ids of the teacher's rule-induction calls.
        **kwargs: ``InferRules`` / ``BootstrapFewShot`` arguments (``num_candidates``, ``num_rules``,
            ``teacher_settings``, ``max_bootstrapped_demos``, ...).

    After ``compile``, ``trial_logs`` holds each candidate's instructions and score, or its error.
    """

    def __init__(self, *, metric: MacroF1, student_lm: dspy.BaseLM, seed: int = 0, **kwargs: Any):
        super().__init__(metric=metric, **kwargs)
        self.student_lm = student_lm
        self.rules_induction_program.rng = random.Random(seed)
        self.trial_logs: dict[int, dict[str, Any]] = {}

    def compile(self, student: dspy.Module, *, teacher: dspy.Module | None = None,
                trainset: Sequence[dspy.Example], valset: Sequence[dspy.Example] | None = None) -> dspy.Module:
        if valset is None:  # InferRules' own fallback: the second half of the training set
            half = len(trainset) // 2
            trainset, valset = trainset[:half], trainset[half:]
        BootstrapFewShot.compile(self, student, teacher=teacher, trainset=list(trainset))
        original = self.student.deepcopy()
        best_score, best = float("-inf"), None
        self.trial_logs = {}
        for index in range(self.num_candidates):
            candidate = self._candidate(original, list(trainset), index)
            if candidate is None:
                continue
            score = self.evaluate_program(candidate, list(valset))
            self.trial_logs[index] = {"score": score,
                                      "instructions": [p.signature.instructions for p in candidate.predictors()]}
            if score > best_score:
                best_score, best = score, candidate
            logger.info("InferRules candidate %d of %d: val Macro F1 %.3f (best %.3f)",
                        index + 1, self.num_candidates, score, best_score)
        if best is None:
            raise RuntimeError(f"InferRules: the teacher wrote no usable rules in {self.num_candidates} attempts "
                               f"({self.trial_logs[self.num_candidates - 1]['error']})")
        best.trial_logs = self.trial_logs
        best._compiled = True
        return best

    def _candidate(self, original: dspy.Module, trainset: list[dspy.Example], index: int) -> dspy.Module | None:
        """A copy of ``original`` with newly induced rules in each predictor's instructions, or
        ``None`` (logged in ``trial_logs``) when the teacher's answer is unusable."""
        candidate = original.deepcopy()
        for predictor in candidate.predictors():
            try:
                rules = self.induce_natural_language_rules(predictor, trainset)
            except PLDError:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad answer costs one candidate
                raise_if_backend_fault(exc, self.teacher_settings.get("lm") or dspy.settings.lm)  # no answer at all: stop
                self.trial_logs[index] = {"score": None, "error": _reason(exc)}
                logger.warning("InferRules candidate %d: no rules (%s)", index + 1, self.trial_logs[index]["error"])
                return None
            text = f"{predictor.signature.instructions}\n\n{RULES_PREAMBLE}\n{rules}"
            predictor.signature = predictor.signature.with_instructions(text)
        return candidate

    def induce_natural_language_rules(self, predictor: dspy.Predict, trainset: list[dspy.Example]) -> str:
        """InferRules' rule induction from the training examples, showing the first ones that fit
        the teacher's context (a fifth fewer per overflow, instead of one, since each try is a call)."""
        demos = self.get_predictor_demos(trainset, predictor)
        while True:
            try:
                return self.rules_induction_program(self.format_examples(demos, predictor.signature))
            except ContextWindowExceededError:
                if len(demos) <= 1:
                    raise
                demos = demos[:min(len(demos) - 1, int(len(demos) * SHRINK))]
                logger.info("InferRules: the examples overflow the teacher's context; showing %d", len(demos))

    def evaluate_program(self, program: dspy.Module, dataset: list[dspy.Example]) -> float:
        """Validation Macro F1, the comparison's own score (InferRules averages the per-example metric)."""
        return evaluate_program(program, dataset, self.student_lm, self.metric).scores.macro_f1


def _reason(exc: BaseException) -> str:
    """What went wrong; InferRules hides an unexpected error behind a bare ``assert``."""
    if isinstance(exc, AssertionError) and not str(exc) and exc.__context__ is not None:
        exc = exc.__context__
    return redact(f"{type(exc).__name__}: {exc}")[:300]
