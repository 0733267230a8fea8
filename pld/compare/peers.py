"""DSPy's optimizers and PLD, each called as DSPy 3.4.1 expects, with small, documented settings.

Fairness rules, the same for every peer:

- the teacher LM is the peer's teacher / prompt / reflection model; the student LM runs the program;
- optimizers with a train and a validation argument get the same split as PLD; those with one data
  argument (COPRO, SIMBA) get train ∪ validation, all the labelled data the others see;
- the student-call budget (``ctx.budget``) caps or sizes each optimizer's search where it has a
  knob for it: PLD ``max_student_calls``, GEPA ``max_metric_calls``, MIPROv2 ``num_trials``, COPRO
  ``depth``, SIMBA ``max_steps``, InferRules ``num_candidates`` (derived from the optimizer's own
  call pattern, below);
- one thread everywhere (two shared cores; the embedded engine serialises calls anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dspy

from pld.compare.infer_rules import BestInferRules
from pld.compare.method import Method, MethodContext
from pld.compare.settings import COMPARE_PLD
from pld.evaluate import student_adapter
from pld.config import PLDConfig
from pld.metrics import MacroF1
from pld.optimizer import PLD

DEMOS = 5  # demos at most, as the 5-shot baseline
MIPRO_CANDIDATES = 3
MIPRO_MINIBATCH = 8
COPRO_BREADTH = 3
SIMBA_BSIZE = 4
SIMBA_CANDIDATES = 3
INFERRULES_MAX_CANDIDATES = 10  # InferRules' own default
INFERRULES_RULES = 5  # as many as PLD keeps by default (InferRules' default: 10)


# --- budget → each optimizer's own knob ------------------------------------------------------
def copro_depth(budget: int, breadth: int, n_examples: int) -> int:
    """COPRO scores ``breadth`` instructions per depth on every example."""
    return max(1, budget // (breadth * n_examples))


def mipro_minibatch(n_val: int) -> bool:
    """Minibatch only a validation set several minibatches long; on a small one every trial is a
    full evaluation."""
    return n_val >= 4 * MIPRO_MINIBATCH


def mipro_trials(budget: int, n_val: int, minibatch_size: int) -> int:
    """Most trials that fit the budget; at least one. Minibatched, that is the default program's
    full evaluation, ``trials`` minibatches and one full evaluation at the end (see
    ``mipro_full_eval_steps``); otherwise every trial, and the default program, is a full one."""
    if not mipro_minibatch(n_val):
        return max(1, budget // n_val - 1)
    return max(1, (budget - 2 * n_val) // minibatch_size)


def mipro_full_eval_steps(trials: int) -> int:
    """One full evaluation, after the last minibatch. Each of MIPROv2's (3.4.1) periodic full
    evaluations takes the best-averaging program *not yet fully evaluated*; with instructions only
    there are just ``num_candidates`` programs, and once minibatches have tried no other it raises
    "No valid program found in param_score_dict" (it did, on 100 validation examples and 15 trials)."""
    return max(1, trials)


def inferrules_candidates(budget: int, n_val: int) -> int:
    """Each candidate rule set is scored on the whole validation set; demos and rules cost teacher calls."""
    return max(1, min(INFERRULES_MAX_CANDIDATES, budget // n_val))


def simba_steps(budget: int, bsize: int, num_candidates: int, n_examples: int) -> int:
    """Per step: ``bsize × num_candidates`` sampled runs plus up to ``num_candidates + 1`` candidates
    scored on the batch; at the end, up to ``num_candidates + 1`` programs scored on all examples."""
    per_step = bsize * (num_candidates + min(bsize, num_candidates + 1))
    steps = 1
    while (steps + 1) * per_step + min(num_candidates + 1, steps + 2) * n_examples <= budget:
        steps += 1
    return steps


# --- BootstrapFewShot -------------------------------------------------------------------------
def _bootstrap_settings(ctx: MethodContext) -> dict[str, Any]:
    return {"optimizer": "dspy.BootstrapFewShot", "max_bootstrapped_demos": DEMOS, "max_labeled_demos": DEMOS,
            "max_rounds": 1, "teacher_settings": "lm=teacher", "data": "train",
            "note": "the teacher LM runs the program on training examples; traces it gets right become demos"}


def _bootstrap(ctx: MethodContext, s: dict[str, Any]) -> dspy.Module:
    optimizer = dspy.BootstrapFewShot(metric=ctx.metric, teacher_settings={"lm": ctx.teacher_lm},
                                      max_bootstrapped_demos=s["max_bootstrapped_demos"],
                                      max_labeled_demos=s["max_labeled_demos"], max_rounds=s["max_rounds"],
                                      max_errors=10_000)
    return optimizer.compile(ctx.student, trainset=list(ctx.trainset))


# --- COPRO ------------------------------------------------------------------------------------
def _copro_settings(ctx: MethodContext) -> dict[str, Any]:
    n = len(ctx.train_and_val)
    return {"optimizer": "dspy.COPRO", "breadth": COPRO_BREADTH, "depth": copro_depth(ctx.budget, COPRO_BREADTH, n),
            "init_temperature": 1.0, "prompt_model": "teacher", "data": "train+val", "num_threads": 1}


def _copro(ctx: MethodContext, s: dict[str, Any]) -> dspy.Module:
    optimizer = dspy.COPRO(prompt_model=ctx.teacher_lm, metric=ctx.metric, breadth=s["breadth"], depth=s["depth"],
                           init_temperature=s["init_temperature"])
    # eval_kwargs go both to Evaluate() and to each Evaluate call: only keys both accept.
    return optimizer.compile(ctx.student, trainset=ctx.train_and_val,
                             eval_kwargs={"num_threads": 1, "display_progress": False})


# --- MIPROv2 ----------------------------------------------------------------------------------
def _mipro_settings(demos: int) -> Any:
    def settings(ctx: MethodContext) -> dict[str, Any]:
        n_val = len(ctx.valset)
        minibatch = mipro_minibatch(n_val)
        trials = mipro_trials(ctx.budget, n_val, MIPRO_MINIBATCH)
        return {"optimizer": "dspy.MIPROv2", "auto": None, "num_candidates": MIPRO_CANDIDATES,
                "num_trials": trials, "max_bootstrapped_demos": demos, "max_labeled_demos": demos,
                "minibatch": minibatch, "minibatch_size": min(MIPRO_MINIBATCH, n_val),
                "minibatch_full_eval_steps": mipro_full_eval_steps(trials),
                "prompt_model": "teacher", "task_model": "student", "teacher_settings": "lm=teacher",
                "proposer": "program-, data-, tip- and few-shot-aware (MIPROv2 defaults)",
                "seed": ctx.seed, "num_threads": 1, "data": "train (proposals, demos), val (trials)"}
    return settings


def _mipro(ctx: MethodContext, s: dict[str, Any]) -> dspy.Module:
    optimizer = dspy.MIPROv2(metric=ctx.metric, prompt_model=ctx.teacher_lm, task_model=ctx.student_lm,
                             teacher_settings={"lm": ctx.teacher_lm}, max_bootstrapped_demos=s["max_bootstrapped_demos"],
                             max_labeled_demos=s["max_labeled_demos"], auto=None, num_candidates=s["num_candidates"],
                             num_threads=1, max_errors=10_000, seed=s["seed"])
    return optimizer.compile(ctx.student, trainset=list(ctx.trainset), valset=list(ctx.valset),
                             num_trials=s["num_trials"], minibatch=s["minibatch"], minibatch_size=s["minibatch_size"],
                             minibatch_full_eval_steps=s["minibatch_full_eval_steps"], seed=s["seed"])


# --- GEPA -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeedbackMetric:
    """GEPA's five-argument metric: the per-example score plus a sentence that names the gold label."""

    metric: MacroF1

    def __call__(self, gold: Any, pred: Any, trace: Any = None, pred_name: str | None = None,
                 pred_trace: Any = None) -> dspy.Prediction:
        score = self.metric(gold, pred)
        expected = gold[self.metric.label_field]
        answered = self.metric.predicted_label(pred)
        if score:
            feedback = f"Correct: the label is {expected!r}."
        elif answered is None:
            feedback = f"No valid label was produced; the correct label is {expected!r}."
        else:
            feedback = f"Wrong: answered {answered!r}, but the correct label is {expected!r}."
        return dspy.Prediction(score=score, feedback=feedback)


def _gepa_settings(ctx: MethodContext) -> dict[str, Any]:
    return {"optimizer": "dspy.GEPA", "max_metric_calls": ctx.budget, "reflection_minibatch_size": 3,
            "candidate_selection_strategy": "pareto", "use_merge": False, "reflection_lm": "teacher",
            "instruction_proposer": "GEPA's InstructionProposer with ChatAdapter (default JSONAdapter)",
            "metric": "1/0 per example, feedback names the gold label", "seed": ctx.seed, "num_threads": 1,
            "data": "train (reflection), val (Pareto tracking)"}


def _gepa(ctx: MethodContext, s: dict[str, Any]) -> dspy.Module:
    from dspy.teleprompt.gepa.instruction_proposal import InstructionProposer

    optimizer = dspy.GEPA(
        metric=FeedbackMetric(ctx.metric), max_metric_calls=s["max_metric_calls"],
        reflection_minibatch_size=s["reflection_minibatch_size"],
        candidate_selection_strategy=s["candidate_selection_strategy"], reflection_lm=ctx.teacher_lm,
        # The proposer's JSONAdapter expects JSON; every other call here goes through ChatAdapter.
        instruction_proposer=InstructionProposer(adapter=student_adapter()),
        use_merge=s["use_merge"], num_threads=1, seed=s["seed"],
    )
    return optimizer.compile(ctx.student, trainset=list(ctx.trainset), valset=list(ctx.valset))


# --- SIMBA ------------------------------------------------------------------------------------
def _simba_settings(ctx: MethodContext) -> dict[str, Any]:
    n = len(ctx.train_and_val)
    bsize = min(SIMBA_BSIZE, n)
    return {"optimizer": "dspy.SIMBA", "bsize": bsize, "num_candidates": SIMBA_CANDIDATES,
            "max_steps": simba_steps(ctx.budget, bsize, SIMBA_CANDIDATES, n), "max_demos": 4,
            "prompt_model": "teacher", "seed": ctx.seed, "num_threads": 1, "data": "train+val"}


def _simba(ctx: MethodContext, s: dict[str, Any]) -> dspy.Module:
    optimizer = dspy.SIMBA(metric=ctx.metric, bsize=s["bsize"], num_candidates=s["num_candidates"],
                           max_steps=s["max_steps"], max_demos=s["max_demos"], prompt_model=ctx.teacher_lm,
                           num_threads=1)
    return optimizer.compile(ctx.student, trainset=ctx.train_and_val, seed=s["seed"])


# --- InferRules -------------------------------------------------------------------------------
def _inferrules_settings(ctx: MethodContext) -> dict[str, Any]:
    return {"optimizer": "dspy.InferRules", "fixed": "rules set with with_instructions on copies; best candidate kept",
            "num_candidates": inferrules_candidates(ctx.budget, len(ctx.valset)), "num_rules": INFERRULES_RULES,
            "max_bootstrapped_demos": DEMOS, "max_labeled_demos": DEMOS, "max_rounds": 1,
            "teacher_settings": "lm=teacher", "selection": "val Macro F1", "seed": ctx.seed, "num_threads": 1,
            "data": "train (demos, rule induction), val (candidate selection)"}


def _inferrules(ctx: MethodContext, s: dict[str, Any]) -> dspy.Module:
    optimizer = BestInferRules(metric=ctx.metric, student_lm=ctx.student_lm, seed=s["seed"],
                               num_candidates=s["num_candidates"], num_rules=s["num_rules"], num_threads=1,
                               teacher_settings={"lm": ctx.teacher_lm},
                               max_bootstrapped_demos=s["max_bootstrapped_demos"],
                               max_labeled_demos=s["max_labeled_demos"], max_rounds=s["max_rounds"], max_errors=10_000)
    return optimizer.compile(ctx.student, trainset=list(ctx.trainset), valset=list(ctx.valset))


# --- PLD --------------------------------------------------------------------------------------
def pld_method(config: PLDConfig = COMPARE_PLD) -> Method:
    """The pld row with these settings; the comparison's budget and seed replace
    ``max_student_calls`` and ``seed``, as for every method."""

    def settings(ctx: MethodContext) -> dict[str, Any]:
        run = config.replace(max_student_calls=ctx.budget, seed=ctx.seed)
        return {"optimizer": "pld.PLD", **run.model_dump(), "data": "train (traces), val (selection)"}

    return Method("pld", "PLD: teacher rules, greedy selection and ordering on the student, conflict repair", _pld,
                  settings)


def _pld(ctx: MethodContext, s: dict[str, Any]) -> dspy.Module:
    config = PLDConfig(**{name: value for name, value in s.items() if name in PLDConfig.model_fields})
    optimizer = PLD(teacher_lm=ctx.teacher_lm, student_lm=ctx.student_lm, metric=ctx.metric, config=config)
    return optimizer.compile(ctx.student, trainset=list(ctx.trainset), valset=list(ctx.valset))


BOOTSTRAP = Method("bootstrap", f"BootstrapFewShot: up to {DEMOS} teacher-bootstrapped + labelled demos", _bootstrap,
                   _bootstrap_settings)
COPRO = Method("copro", "COPRO: teacher proposes instructions, scored on the student", _copro, _copro_settings)
MIPROV2 = Method("miprov2", "MIPROv2, instructions only (0 demos): Bayesian search over proposals", _mipro,
                 _mipro_settings(0), requires=("optuna",))
MIPROV2_FULL = Method("miprov2-full", f"MIPROv2, instructions and up to {DEMOS} demos", _mipro,
                      _mipro_settings(DEMOS), requires=("optuna",))
GEPA = Method("gepa", "GEPA: reflective instruction evolution, teacher reflects", _gepa, _gepa_settings,
              requires=("gepa",))
SIMBA = Method("simba", "SIMBA: stochastic mini-batch ascent, teacher writes rules, demos from traces", _simba,
               _simba_settings)
INFERRULES = Method("inferrules", f"InferRules: teacher induces rules from the training set, best of candidates "
                    f"on the student, plus up to {DEMOS} demos", _inferrules, _inferrules_settings)
PLD_METHOD = pld_method()
