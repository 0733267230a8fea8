"""``PLD``: the optimizer. It only orchestrates; each stage lives in its own module."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
import inspect
from typing import Any, Literal

import dspy
from dspy.teleprompt.teleprompt import Teleprompter
from tqdm.auto import tqdm

from pld.backends.label_paths import counted_since, fallback_warning, label_path_counts
from pld.budget import CallBudget
from pld.config import PLDConfig, args_doc
from pld.errors import ConfigError
from pld.pipeline.candidates import MergeFailures, synthesize_candidates
from pld.pipeline.clustering import Embedder
from pld.pipeline.mining import mine_field_rules
from pld.inputs import check_examples, infer_labels, literal_output_field, split_valset
from pld.backends.lm import default_concurrency, make_lm
from pld.backends.options import DEFAULT_STUDENT, DEFAULT_TEACHER, ModelSpec
from pld.metrics import MacroF1, macro_f1
from pld.pipeline.render import base_instructions, with_rules
from pld.pipeline.repair import repair_rules
from pld.artifacts.report import PhaseCost, RunReport
from pld.rules import RejectedRule, SelectedRule, example_key
from pld.pipeline.confirm import Confirmation, confirm, selection_evidence, split_for_confirmation
from pld.pipeline.racing import GainTest
from pld.pipeline.scoring import StudentScorer
from pld.pipeline.selection import SelectionResult, greedy_select
from pld.pipeline.teacher import Teacher
from pld.tracking import log_compile
from pld.pipeline.traces import categorical_fields, collect_traces, program_task, teacher_accuracy, trace_sample
from pld.usage import UsageCounter, counting

logger = logging.getLogger(__name__)

class PLD(Teleprompter):
    def __init__(
        self,
        *,
        teacher_lm: str | ModelSpec | dspy.BaseLM | None = None,
        student_lm: str | ModelSpec | dspy.BaseLM | None = None,
        metric: MacroF1 | Callable[..., Any] | None = None,
        embedder: Embedder | None = None,
        config: PLDConfig | None = None,
        **settings: Any,
    ):
        """Prompt-Level Distillation: distil a teacher's reasoning into rules in the student's instructions.

        Settings are validated here, so a typo fails at ``PLD(...)`` with one line
        (``pld.ConfigError``), not minutes into a run.

        Args:
            teacher_lm: The teacher: a model spec (see ``pld.make_lm``), a spec with its own options
                (``pld.ModelSpec(spec, LMOptions(api_base=..., temperature=...))``), or a DSPy LM.
                None: the LM configured with ``dspy.configure(lm=...)``, else the embedded default.
            student_lm: The student whose validation Macro F1 selects the rules; None as for the teacher.
            metric: ``macro_f1(label_field=..., labels=...)`` (labels default to the signature's
                Literal), or any DSPy metric ``(example, prediction, trace=None) -> float``: rules are
                then selected by Macro F1 over the program's one Literal output field, and the
                metric is reported on the validation set (``pld_report.metric_val_score``).
            embedder: Maps a list of micro-rules to vectors; TF-IDF by default (offline).
            config: All settings as one ``pld.PLDConfig``; keyword settings override its fields.
            **settings: Any ``PLDConfig`` field (below; ``pld compile --help`` prints the same text).
        """
        if config is not None and not isinstance(config, PLDConfig):
            raise ConfigError(f"config must be a pld.PLDConfig, got {type(config).__name__}")
        self.teacher_lm = teacher_lm
        self.student_lm = student_lm
        self.metric = metric
        self.embedder = embedder
        self.config = (config or PLDConfig()).replace(**settings) if settings else (config or PLDConfig())

    def __getattr__(self, name: str) -> Any:
        """Settings read as attributes (``optimizer.max_rules``) come from ``config``, their one home."""
        config = self.__dict__.get("config")
        if config is not None and name in PLDConfig.model_fields:
            return getattr(config, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        """``optimizer.max_rules = 4`` replaces ``config`` with a validated copy."""
        if name in PLDConfig.model_fields:
            name, value = "config", self.config.replace(**{name: value})
        super().__setattr__(name, value)

    def get_params(self) -> dict[str, Any]:
        """The constructor's arguments, settings flattened: ``PLD(**optimizer.get_params())`` is a copy."""
        return {"teacher_lm": self.teacher_lm, "student_lm": self.student_lm, "metric": self.metric,
                "embedder": self.embedder, **dict(self.config)}

    def settings(self) -> dict[str, Any]:
        """The settings a run report records (all but ``progress``)."""
        return self.config.model_dump(exclude={"progress"})

    def estimate(self, n_train: int, n_val: int) -> dict[str, int]:
        """Upper bounds on calls, before any budget cap (printed before a run)."""
        config = self.config
        k, r = config.max_candidates, config.max_rules
        lists = 1 + sum((k - i) * (i + 1) for i in range(min(k, r)))
        n_traces = min(n_train, config.max_traces or n_train)
        return {
            "teacher_calls": n_traces + k + config.max_repair_rounds,
            "student_calls": lists * n_val + config.max_repair_rounds * (n_train + n_val),
        }

    def compile(
        self,
        student: dspy.Module,
        *,
        trainset: Sequence[dspy.Example],
        teacher: dspy.BaseLM | str | ModelSpec | None = None,
        valset: Sequence[dspy.Example] | None = None,
        **kwargs: Any,
    ) -> dspy.Module:
        """Return a deep copy of ``student`` whose instructions hold the selected rules; the student
        LM they were selected with (and its label decoding) is ``compiled.pld_student_lm``.

        ``teacher`` overrides ``teacher_lm`` for this run. Without ``valset`` half of ``trainset``
        (seeded) is held out for validation. Other keyword arguments DSPy optimizers take
        (``requires_permission_to_run``, ...) are accepted and have no effect; a PLD setting
        passed here is refused with the fix (settings go to ``PLD(...)``).
        """
        if misplaced := sorted(set(kwargs) & set(PLDConfig.model_fields)):
            raise ConfigError(f"{', '.join(misplaced)} is a PLD setting: pass it to PLD(...), not compile()")
        if kwargs:
            logger.info("compile() ignores %s (DSPy optimizer arguments PLD does not use)", ", ".join(sorted(kwargs)))
        rng = random.Random(self.config.seed)
        if not isinstance(student, dspy.Module):
            raise TypeError(f"student must be a dspy.Module, got {type(student).__name__}")
        user_metric = None if self.metric is None or isinstance(self.metric, MacroF1) else self.metric
        if user_metric is not None and not callable(user_metric):
            raise ConfigError(f"metric must be pld.macro_f1(...) or a callable (example, prediction, trace=None), "
                              f"got {type(user_metric).__name__}")
        metric = self.metric if isinstance(self.metric, MacroF1) else macro_f1(literal_output_field(student)
                                                                               if user_metric else "label")
        if metric.labels is None:
            metric = metric.with_labels(infer_labels(student, metric.label_field))
        trainset = check_examples(trainset, "trainset", metric.label_field, labelled=self.config.trace_mode == "label-conditioned",
                                  labels=metric.labels)
        if valset is None:
            trainset, valset = split_valset(trainset, rng)
        valset = check_examples(valset, "valset", metric.label_field, labelled=True, labels=metric.labels)
        teacher_lm = _resolve_lm(teacher if teacher is not None else self.teacher_lm, "teacher", DEFAULT_TEACHER)
        student_lm = _resolve_lm(self.student_lm, "student", DEFAULT_STUDENT)

        estimate = self.estimate(len(trainset), len(valset))
        logger.info("PLD on %d train / %d validation examples; at most %d teacher and %d student calls%s",
                    len(trainset), len(valset), estimate["teacher_calls"], estimate["student_calls"],
                    " (before budget caps)" if self.config.max_student_calls or self.config.max_teacher_calls else "")

        phases: dict[str, float] = {}
        paths_before = label_path_counts(student_lm)
        # One LM as teacher and student counts once, as "teacher+student".
        with counting({"teacher": teacher_lm, "student": student_lm}) as counter:
            compiled = self._run(student, trainset, valset, teacher_lm, student_lm, metric, rng, counter, phases,
                                 estimate)
        report = compiled.pld_report
        report.label_decoding = counted_since(paths_before, label_path_counts(student_lm))
        report.warnings += fallback_warning(report.label_decoding)
        if user_metric is not None:
            compiled.pld_report.metric_name = getattr(user_metric, "__name__", type(user_metric).__name__)
            compiled.pld_report.metric_val_score = _mean_metric(user_metric, valset, compiled.pld_report.final_answers,
                                                                metric.label_field)
        return compiled

    def _run(self, student: dspy.Module, trainset: list[dspy.Example], valset: list[dspy.Example],
             teacher_lm: dspy.BaseLM, student_lm: dspy.BaseLM, metric: MacroF1, rng: random.Random,
             counter: UsageCounter, phases: dict[str, float], estimate: dict[str, int]) -> dspy.Module:
        config = self.config
        bases = base_instructions(student)
        task = program_task(student, metric.label_field, metric.labels)
        teacher = Teacher(metric.labels)
        teacher_budget = CallBudget("teacher", config.max_teacher_calls)
        threads = config.num_threads or default_concurrency(student_lm)
        scorer = StudentScorer(student, bases, student_lm, metric, CallBudget("student", config.max_student_calls),
                               num_threads=threads)

        traced = trace_sample(trainset, metric.label_field, config.max_traces, config.seed)
        trace_failures: list[str] = []
        with _phase("traces", counter, phases):
            traces = collect_traces(teacher, teacher_lm, traced, task=task, label_field=metric.label_field,
                                    mode=config.trace_mode, budget=teacher_budget, progress=config.progress,
                                    contrast=config.contrast_traces, failures=trace_failures)
        refused: list[RejectedRule] = []
        merge_failures = MergeFailures()
        with _phase("synthesis", counter, phases):
            mined = (mine_field_rules(trainset, metric.label_field, sorted(categorical_fields(trainset)))
                     if config.mine_rules and config.trace_mode == "label-conditioned" else [])
            candidates = synthesize_candidates(
                teacher, teacher_lm, teacher_budget, traces, mined, task=task, labels=metric.labels,
                embedder=self.embedder, eps=config.eps, min_samples=config.min_samples,
                max_candidates=config.max_candidates, refused=refused, merge_failures=merge_failures)
        test = GainTest(labels=tuple(metric.labels), min_gain=config.min_gain, confidence=config.confidence,
                        resamples=config.resamples, seed=config.seed)
        select_val, held_back = split_for_confirmation(valset, metric.label_field, fraction=config.confirm_fraction,
                                                       min_examples=config.min_confirm, seed=config.seed)
        # Confirmation needs the baseline and the final list on the held-back examples, whatever
        # selection spends: those calls are kept back from selection and repair.
        with scorer.budget.holding(2 * len(held_back)):
            with _phase("selection", counter, phases):
                selection = greedy_select(scorer, candidates, select_val, min_gain=config.min_gain,
                                          max_rules=config.max_rules, racing=config.selection == "racing",
                                          confidence=config.confidence, resamples=config.resamples, seed=config.seed,
                                          progress=config.progress, retry_futile=config.retry_futile)
            rules = [rule.text for rule in selection.selected]
            with _phase("repair", counter, phases), tqdm(desc="conflict repair", unit=" student calls",
                                                          disable=not config.progress, leave=False) as bar:
                scorer.on_query = bar.update
                repair = repair_rules(teacher, teacher_lm, teacher_budget, scorer, rules, selection.val_macro_f1,
                                      traced, select_val, task=task, max_rounds=config.max_repair_rounds,
                                      test=test, max_rules=config.max_rules, rng=rng,
                                      racing=config.selection == "racing")
                scorer.on_query = None
        confirmation = None
        final_rules = repair.rules
        if held_back:
            with _phase("confirmation", counter, phases):
                evidence = (selection_evidence(selection.rounds, repair.rounds, len(select_val))
                            if config.confirmation == "two-stage" else None)
                confirmation = confirm(scorer, selection.steps + repair.steps, held_back, test, evidence)
            final_rules = confirmation.rules
            logger.info("confirmation: %s", confirmation.note)
        selected = _selected_rules(selection, final_rules)
        # A list with rules was scored on every selection example (memoized: no new student calls);
        # the empty list is reported as selection scored it (``baseline_val_examples``), even where a
        # repair rewrite raced it further.
        final_scores = scorer.scores(final_rules, select_val) if final_rules else selection.baseline_scores

        report = RunReport(
            label_field=metric.label_field, labels=list(metric.labels), trace_mode=config.trace_mode,
            settings=self.settings(), teacher_model=teacher_lm.model, student_model=student_lm.model,
            n_train=len(trainset), n_val=len(select_val), n_held_back=len(held_back), estimate=estimate,
            baseline_val_macro_f1=selection.baseline_val_macro_f1, selected_val_macro_f1=selection.val_macro_f1,
            baseline_val_examples=selection.baseline_examples,
            final_val_macro_f1=final_scores.macro_f1, final_val_scores=final_scores,
            baseline_val_scores=selection.baseline_scores, rules=selected,
            candidate_rules=candidates, traces=traces, teacher_accuracy=teacher_accuracy(traces),
            selection_rounds=selection.rounds, selection_stop_reason=selection.stop_reason,
            repair_rounds=repair.rounds, rejected_rules=refused + repair.rejected,
            warnings=selection.warnings + repair.warnings + _confirmation_warning(confirmation)
                     + ([f"{merge_failures.count} cluster merge(s) failed; their first micro-rules stood in"]
                        if merge_failures.count else [])
                     + ([f"{len(trace_failures)} teacher trace(s) failed and were skipped (first: "
                         f"{trace_failures[0][:120]})"] if trace_failures else []),
            confirmation=confirmation,
            phases={name: PhaseCost(seconds=round(seconds, 3), usage=counter.by_phase().get(name, {}))
                    for name, seconds in phases.items()},
            totals={role: counter.totals(role=role).as_dict() for role in sorted({r.role for r in counter.records})},
            unique_student_queries=scorer.queries,
        )
        logger.info("PLD done.\n%s", report.summary())
        compiled = with_rules(student, bases, final_rules)
        compiled.pld_student_lm = student_lm  # the LM the rules were chosen with (pld.load binds an artifact to it)
        compiled.pld_report = report
        answered = scorer.answered(final_rules, [*select_val, *held_back])
        report.final_answers = dict(zip((example_key(ex) for ex in answered), scorer.labels(final_rules, answered)))
        compiled.candidate_programs = _candidate_programs(student, bases, student_lm, final_rules, final_scores.macro_f1,
                                                          selection, confirmation)
        compiled.trial_logs = {
            i: {"rules": texts, "score": score, "measured_on": "selection",
                **({"full_eval_score": score} if texts else {})}
            for i, (texts, score) in enumerate(selection.evaluated)
        }
        compiled._compiled = True
        log_compile(compiled, report)  # MLflow, when a run or compile autologging is active
        return compiled


def _candidate_programs(student: dspy.Module, bases: dict[str, str], student_lm: dspy.BaseLM, final_rules: list[str],
                        final_score: float, selection: SelectionResult,
                        confirmation: Confirmation | None) -> list[dict[str, Any]]:
    """The returned program first, then every other list by the last score it got: held-back
    Macro F1 for the steps confirmation scored, selection Macro F1 for the rest; each entry says
    which (``measured_on``)."""
    def program(texts: list[str]) -> dspy.Module:
        return with_rules(student, bases, texts)

    returned_score = confirmation.steps[confirmation.chosen].macro_f1 if confirmation else final_score
    entries = [{"score": returned_score, "rules": final_rules, "returned": True,
                "measured_on": "held-back" if confirmation else "selection", "program": program(final_rules)}]
    seen = {tuple(final_rules)}
    others: list[dict[str, Any]] = []
    for step in confirmation.steps if confirmation else []:
        if tuple(step.rules) not in seen:
            seen.add(tuple(step.rules))
            others.append({"score": step.macro_f1, "rules": step.rules, "returned": False, "measured_on": "held-back"})
    for texts, score in selection.evaluated:
        if tuple(texts) not in seen:
            seen.add(tuple(texts))
            others.append({"score": score, "rules": texts, "returned": False, "measured_on": "selection"})
    others.sort(key=lambda entry: (entry["measured_on"] != "held-back", -entry["score"]))
    return entries + [{**entry, "program": program(entry["rules"])} for entry in others[:9]]


def _selected_rules(selection: SelectionResult, final_texts: list[str]) -> list[SelectedRule]:
    by_text = {rule.text: (rule, gain, estimate)
               for rule, gain, estimate in zip(selection.selected, selection.gains, selection.estimates)}
    result = []
    for text in final_texts:
        if text in by_text:
            rule, gain, estimate = by_text[text]
            result.append(SelectedRule(candidate_id=rule.id, text=text, marginal_gain=gain, source=rule.source,
                                       example_keys=rule.example_keys, gain_estimate=estimate))
        else:
            result.append(SelectedRule(candidate_id="repair", text=text, marginal_gain=None,
                                       source="repair", example_keys=()))
    return result


def _confirmation_warning(confirmation: Confirmation | None) -> list[str]:
    """The held-back examples overruled selection: say so wherever warnings are shown."""
    if confirmation is None or confirmation.final_confirmed or not confirmation.steps[-1].rules:
        return []
    return [f"confirmation: {confirmation.note}"]


def _mean_metric(metric: Callable[..., Any], examples: Sequence[dspy.Example], answers: dict[str, str | None],
                 label_field: str) -> float | None:
    """The user's metric, averaged over the validation examples the final program answered."""
    from pld.rules import example_key

    scores = [float(metric(example, dspy.Prediction(**{label_field: answers[example_key(example)]})))
              for example in examples if example_key(example) in answers]
    return sum(scores) / len(scores) if scores else None


def _resolve_lm(lm: str | ModelSpec | dspy.BaseLM | None, role: str, default: str) -> dspy.BaseLM:
    """A ready LM as it is; a spec, or a spec with its own options (``ModelSpec``), built by ``make_lm``;
    None: the LM of ``dspy.configure(lm=...)``, else the embedded default (and the log says which)."""
    if lm is None:
        configured = dspy.settings.lm
        if configured is not None:
            logger.info("%s: the configured dspy.settings.lm (%s)", role, getattr(configured, "model", configured))
            return configured
        logger.info("%s: no LM given or configured; the embedded default %s", role, default)
        lm = default
    if isinstance(lm, ModelSpec):
        return make_lm(lm.spec, lm.options)
    return make_lm(lm) if isinstance(lm, str) else lm


@contextmanager
def _phase(name: str, counter: UsageCounter, phases: dict[str, float]) -> Iterator[None]:
    counter.phase = name
    started = time.perf_counter()
    logger.info("phase: %s", name)
    try:
        yield
    finally:
        phases[name] = time.perf_counter() - started


def _init_signature() -> inspect.Signature:
    """``PLD.__init__``'s signature with every setting spelled out, for ``help()`` and IDEs."""
    own = [p for p in inspect.signature(PLD.__init__).parameters.values() if p.kind is not p.VAR_KEYWORD]
    settings = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=field.default,
                                  annotation=field.annotation) for name, field in PLDConfig.model_fields.items()]
    return inspect.Signature([*own, *settings])


PLD.__init__.__signature__ = _init_signature()  # type: ignore[attr-defined]
if PLD.__init__.__doc__:  # None under python -OO
    PLD.__init__.__doc__ = f"{PLD.__init__.__doc__.rstrip()}\n{args_doc(12)}\n"
