"""``pld compare`` on deterministic LMs: rows, failure isolation, counts, resume, outputs, peers."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import dspy
import pytest
from dspy.lm15 import Message, Response, TextPart, Usage

from pld.artifacts.artifact import read_manifest
from pld.compare import (
    CompareReport,
    CompareSettings,
    Method,
    MethodContext,
    run_comparison,
)
from pld.compare.infer_rules import BestInferRules
from pld.compare.methods import get_method, method_names
from pld.compare.peers import INFERRULES, copro_depth, inferrules_candidates, mipro_trials, simba_steps
from pld.compare.settings import DEFAULT_METHODS
from pld.evaluate import student_adapter
from pld.errors import ConfigError
from pld.backends.decoding import OutputField, parse_output_fields
from pld.metrics import macro_f1
from pld.programs import Classifier
from pld.tasks import Splits
from tests.fakes import (
    RULE_ALL_NEG,
    RULE_ALL_POS,
    RULE_SPECIAL_NEG,
    ToySignature,
    field_value,
    rule_following_student,
    rule_writing_teacher,
    toy_examples,
)

METRIC = macro_f1("label", ["pos", "neg"])
GOOD_INSTRUCTION = f"{RULE_SPECIAL_NEG} {RULE_ALL_POS}"  # makes the toy student right on every item


class CountingEngine:
    """A DSPy engine that answers the adapter's declared output fields, in ChatAdapter or JSON form.

    Copies of an LM (``lm.copy``, deep copies of programs) share the engine, so ``requests`` and
    ``prompt_tokens_total`` count every request that reached this "model".
    """

    def __init__(self, respond, *, noisy: bool = False):
        self.respond = respond
        self.noisy = noisy  # at temperature > 0, every third answer is the gold label (SIMBA samples)
        self.requests: list[tuple[str, str]] = []
        self.prompt_tokens_total = 0

    def __deepcopy__(self, memo):
        return self

    def complete(self, request):
        system = request.system if isinstance(request.system, str) else "".join(p.text for p in request.system or ())
        user = request.messages[-1].text or ""
        self.requests.append((system, user))
        values = self.respond(system, user, parse_output_fields(system) or [])
        if self.noisy and request.config.temperature and len(self.requests) % 3 == 1:
            values["label"] = "neg" if "special" in field_value(user, "text") else "pos"
        if "Outputs will be a JSON object" in system:
            text = json.dumps(values)
        else:
            text = "".join(f"[[ ## {k} ## ]]\n{v if isinstance(v, str) else json.dumps(v)}\n\n" for k, v in values.items())
            text += "[[ ## completed ## ]]"
        tokens = len(system.split()) + sum(len((m.text or "").split()) for m in request.messages)
        self.prompt_tokens_total += tokens
        return Response(id=None, model=request.model, message=Message.assistant([TextPart(text)]),
                        finish_reason="stop", usage=Usage(input_tokens=tokens, output_tokens=len(text.split())))

    def stream(self, request):  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:
        pass


def student_answers(system: str, user: str, fields: list[OutputField]) -> dict:
    values = {f.name: "The item decides it." for f in fields if f.name != "label"}
    values.update(rule_following_student(system, user))
    return values


def teacher_answers(system: str, user: str, fields: list[OutputField]) -> dict:
    """PLD's teacher prompts go to the fakes' rule writer; other peers get a correct label, the
    instruction that fixes the student, or advice for the ``predict`` module."""
    names = [f.name for f in fields]
    if {"rule", "merged_rule", "revised_rules"} & set(names):
        return rule_writing_teacher(system, user)
    values: dict = {}
    for field in fields:
        if field.choices:
            values[field.name] = "neg" if "special" in field_value(user, "text") else "pos"
        elif field.type_text.startswith("dict"):
            values[field.name] = {"predict": GOOD_INSTRUCTION}
        elif field.type_text.startswith("list"):
            values[field.name] = [GOOD_INSTRUCTION]
        else:
            values[field.name] = GOOD_INSTRUCTION
    return values


def make_lms():
    engines = CountingEngine(student_answers, noisy=True), CountingEngine(teacher_answers)
    lms = []
    for name, engine in zip(("student", "teacher"), engines):
        # the runner cross-checks callback counts against the engine it finds as ``lm.engine``
        lms.append(dspy.LM(f"test/{name}", engine=engine, cache=False))
    return lms, engines


# A validation set large enough for PLD's gain test to accept a rule that turns ten answers right.
SPLITS = Splits(train=toy_examples(4, 4), val=toy_examples(10, 10, start=100), test=toy_examples(4, 4, start=200))


def make_program(strategy: str) -> dspy.Module:
    return Classifier(ToySignature, strategy)


def _run(tmp_path: Path, methods, **overrides) -> tuple[CompareReport, tuple[CountingEngine, CountingEngine]]:
    (student, teacher), engines = make_lms()
    overrides.setdefault("warm_up", False)
    settings = CompareSettings(task="toy", student="test/student", teacher="test/teacher", budget=120,
                               methods=tuple(m if isinstance(m, str) else m.name for m in methods), **overrides)
    report = run_comparison(settings, splits=SPLITS, make_program=make_program, student_lm=student,
                            teacher_lm=teacher, metric=METRIC, out=tmp_path, methods=methods)
    return report, engines


def _broken(ctx: MethodContext, settings: dict) -> dspy.Module:
    with dspy.context(lm=ctx.student_lm):
        dspy.Predict(ToySignature)(text="item 0")  # one call, then the optimizer "crashes"
    raise RuntimeError("optimizer exploded on a small student")


BROKEN = Method("broken", "raises after one student call", _broken)


def _row(report: CompareReport, name: str):
    return next(r for r in report.methods if r.method == name)


def test_rows_failure_isolation_counts_and_outputs(tmp_path):
    report, (student_engine, teacher_engine) = _run(tmp_path, ["zero-shot", BROKEN, "few-shot", "pld"])

    assert [r.method for r in report.methods] == ["zero-shot", "broken", "few-shot", "pld"]
    broken = _row(report, "broken")
    assert broken.status == "failed" and "optimizer exploded" in broken.error
    assert broken.compile.student.calls == 1  # what it spent before failing is still counted
    assert (tmp_path / "broken" / "error.txt").read_text().count("RuntimeError") >= 1
    assert all(_row(report, name).status == "ok" for name in ("zero-shot", "few-shot", "pld"))

    # Every student/teacher request that reached an engine is in exactly one row's counts.
    student_calls = sum(r.compile.student.calls + (r.val.calls + r.test.calls if r.val else 0) for r in report.methods)
    teacher_calls = sum(r.compile.teacher.calls for r in report.methods)
    assert student_calls == len(student_engine.requests)
    assert teacher_calls == len(teacher_engine.requests) > 0
    assert all(r.engine_counts_match for r in report.methods)
    zero, pld = _row(report, "zero-shot"), _row(report, "pld")
    assert zero.compile.student.calls == zero.compile.teacher.calls == 0
    assert zero.val.calls == len(SPLITS.val) and zero.test.calls == len(SPLITS.test)
    assert pld.compile.student.calls <= 120  # the budget caps PLD's student calls
    assert pld.test.scores.macro_f1 > zero.test.scores.macro_f1
    assert zero.test.prompt_tokens_per_query == zero.test.input_tokens / len(SPLITS.test)

    data = json.loads((tmp_path / "results.json").read_text())
    assert CompareReport.model_validate(data).methods[1].status == "failed"
    assert data["methods"][0]["settings"] == {} and data["settings"]["seed"] == 0
    table = (tmp_path / "results.md").read_text()
    assert "| broken | **failed** |" in table and "| pld | ok |" in table
    if importlib.util.find_spec("matplotlib"):
        assert (tmp_path / "quality_vs_runtime.png").stat().st_size > 1000
        assert (tmp_path / "quality_vs_compile_cost.png").stat().st_size > 1000
    few_shot = read_manifest(tmp_path / "few-shot" / "artifact")  # checksums verified
    assert few_shot.final_val_macro_f1 == _row(report, "few-shot").val.scores.macro_f1
    assert few_shot.backends["student"].spec == "test/student" and few_shot.backends["teacher"].kind == "other"
    reloaded = make_program("zero-shot")
    reloaded.load(str(tmp_path / "few-shot" / "artifact" / "program.json"))
    assert len(reloaded.predict.demos) == 5
    assert read_manifest(tmp_path / "pld" / "artifact").rules  # PLD's rules travel in its manifest


def test_resume_reuses_results_without_new_calls(tmp_path):
    first, _ = _run(tmp_path, ["zero-shot", BROKEN, "pld"])
    table = (tmp_path / "results.md").read_bytes()

    second, (student_engine, teacher_engine) = _run(tmp_path, ["zero-shot", BROKEN, "pld"])
    assert student_engine.requests == [] and teacher_engine.requests == []
    assert second.reused == ["zero-shot", "broken", "pld"]
    assert (tmp_path / "results.md").read_bytes() == table
    assert [r.model_dump() for r in second.methods] == [r.model_dump() for r in first.methods]

    third, (student_engine, _) = _run(tmp_path, ["zero-shot", BROKEN, "pld"], retry_failed=True)
    assert third.reused == ["zero-shot", "pld"] and len(student_engine.requests) == 1


NEEDY = Method("needy", "needs a module that is not installed", lambda ctx, s: ctx.student,
               requires=("pld_no_such_module",))


def test_warm_up_loads_each_model_once_outside_the_counts(tmp_path):
    report, (student_engine, teacher_engine) = _run(tmp_path, [NEEDY, "zero-shot"], warm_up=True)
    row = _row(report, "zero-shot")
    assert len(student_engine.requests) == row.val.calls + row.test.calls + 1
    assert len(teacher_engine.requests) == 1
    assert row.load_avg is not None and _row(report, "needy").load_avg is None
    table = (tmp_path / "results.md").read_bytes()
    # The unavailable method is tried again, but needs no model: no warm-up, same table.
    again, (student_engine, teacher_engine) = _run(tmp_path, [NEEDY, "zero-shot"], warm_up=True)
    assert student_engine.requests == teacher_engine.requests == []
    assert (tmp_path / "results.md").read_bytes() == table


def test_changed_settings_invalidate_only_the_methods_they_touch(tmp_path):
    _run(tmp_path, ["zero-shot", "pld"])
    (student, teacher), _ = make_lms()
    settings = CompareSettings(task="toy", student="test/student", teacher="test/teacher", budget=30,
                               methods=("zero-shot", "pld"), warm_up=False)
    report = run_comparison(settings, splits=SPLITS, make_program=make_program, student_lm=student,
                            teacher_lm=teacher, metric=METRIC, out=tmp_path)
    assert report.reused == ["zero-shot"]  # zero-shot does not depend on the budget; PLD does


def test_fail_method_injects_a_failure_and_the_rest_complete(tmp_path):
    report, (student_engine, _) = _run(tmp_path, ["zero-shot", "few-shot"], fail_methods=("zero-shot",))
    zero = _row(report, "zero-shot")
    assert zero.status == "failed" and zero.error.startswith("InjectedFailure: injected failure")
    assert zero.compile.student.calls == 0 and zero.val is None
    assert _row(report, "few-shot").status == "ok"
    assert len(student_engine.requests) == len(SPLITS.val) + len(SPLITS.test)
    with pytest.raises(ConfigError, match="not among the methods"):
        _run(tmp_path, ["zero-shot"], fail_methods=("simba",))
    with pytest.raises(ConfigError, match="unknown method"):
        _run(tmp_path, ["zero-shot", "no-such-optimizer"])


def test_missing_dependency_is_unavailable_and_tried_again(tmp_path):
    report, _ = _run(tmp_path, [NEEDY, "zero-shot"])
    assert _row(report, "needy").status == "unavailable" and "pld_no_such_module" in _row(report, "needy").error
    again, _ = _run(tmp_path, [NEEDY, "zero-shot"])
    assert again.reused == ["zero-shot"]


def test_a_method_whose_settings_raise_is_reported_failed(tmp_path):
    def bad_settings(ctx: MethodContext) -> dict:
        raise ValueError("trainset too small for this optimizer")

    odd = Method("odd", "settings cannot be derived", lambda ctx, s: ctx.student, bad_settings)
    report, _ = _run(tmp_path, [odd, "zero-shot"])
    assert _row(report, "odd").status == "failed" and "trainset too small" in _row(report, "odd").error
    assert _row(report, "zero-shot").status == "ok"


@pytest.mark.parametrize("name", ["cot", "bootstrap", "copro", "gepa", "simba", "miprov2", "inferrules"])
def test_each_peer_runs_as_dspy_expects_and_is_counted(tmp_path, name):
    if name == "miprov2" and importlib.util.find_spec("optuna") is None:
        report, _ = _run(tmp_path, [name])
        assert report.methods[0].status == "unavailable" and "optuna" in report.methods[0].error
        return
    report, (student_engine, teacher_engine) = _run(tmp_path, [name])
    row = report.methods[0]
    assert row.status == "ok", row.error
    assert row.compile.student.calls + row.val.calls + row.test.calls == len(student_engine.requests)
    assert row.engine_counts_match
    if name == "copro":  # asks for several completions per call: one callback, several requests
        assert 0 < row.compile.teacher.calls < len(teacher_engine.requests)
    else:
        assert row.compile.teacher.calls == len(teacher_engine.requests)
    if name in ("copro", "gepa", "simba", "inferrules"):  # the teacher's instruction or advice fixes the student
        assert row.val.scores.macro_f1 == 1.0
    if name == "inferrules":  # candidates scored on the validation set, within the budget
        assert 0 < row.compile.student.calls <= 120 and row.compile.student.calls % len(SPLITS.val) == 0
        assert ToySignature.instructions == "Label each item."  # the task's signature is not rewritten
    if name == "bootstrap":
        assert row.compile.teacher.calls > 0 and row.compile.student.calls == 0


@pytest.mark.skipif(importlib.util.find_spec("optuna") is None, reason="MIPROv2 needs optuna")
def test_miprov2_minibatched_on_a_large_validation_set_completes_within_its_budget(tmp_path):
    # 40 validation examples: minibatched trials. With periodic full evaluations MIPROv2 3.4.1 ran
    # out of programs not yet fully evaluated ("No valid program found in param_score_dict").
    (student, teacher), (student_engine, _) = make_lms()
    splits = Splits(train=SPLITS.train, val=toy_examples(30, 10, start=100), test=SPLITS.test)
    settings = CompareSettings(task="toy", student="test/student", teacher="test/teacher", budget=300,
                               methods=("miprov2",), warm_up=False)
    report = run_comparison(settings, splits=splits, make_program=make_program, student_lm=student,
                            teacher_lm=teacher, metric=METRIC, out=tmp_path, methods=["miprov2"])
    row = report.methods[0]
    assert row.status == "ok", row.error
    assert row.settings["minibatch"] and row.settings["num_trials"] == (300 - 2 * 40) // 8
    assert 0 < row.compile.student.calls <= 300


def test_budget_sizes_each_optimizer_within_it():
    assert copro_depth(120, 3, 20) == 2 and copro_depth(10, 3, 20) == 1
    for budget in (30, 60, 120, 500):
        trials = mipro_trials(budget, 12, 8)  # small validation set: full evaluations only
        assert trials == 1 or 12 * (trials + 1) <= budget
        trials = mipro_trials(budget, 64, 8)  # minibatched: the default and the best program in full
        assert trials == 1 or 8 * trials + 2 * 64 <= budget
        steps = simba_steps(budget, 4, 3, 20)
        assert steps == 1 or steps * 28 + min(4, steps + 1) * 20 <= budget
    assert mipro_trials(120, 12, 8) == 9 and mipro_trials(600, 100, 8) == 50 and simba_steps(120, 4, 3, 20) == 2
    assert inferrules_candidates(120, 12) == 10 and inferrules_candidates(40, 8) == 5
    assert inferrules_candidates(10, 12) == 1 and inferrules_candidates(10_000, 12) == 10


def test_cli_registers_compare():
    from pld.cli import build_parser

    args = build_parser().parse_args(["compare", "--optimizers", "zero-shot,pld", "--fail-method", "pld",
                                      "--budget", "50", "--student-max-tokens", "32"])
    assert args.methods == ["zero-shot", "pld"] and args.fail_methods == ["pld"] and args.budget == 50
    assert args.func.__module__ == "pld.commands.compare"


def test_compare_takes_per_role_options_from_python_and_the_cli(monkeypatch, tmp_path):
    import dataclasses
    from types import SimpleNamespace

    import pld.compare.suite as suite
    from pld.backends.options import LMOptions, RoleOptions
    from pld.cli import build_parser
    from pld.commands.compare import compare_roles

    built: dict = {}
    task = SimpleNamespace(name="toy", label_field="label", labels=("pos", "neg"), make_program=make_program,
                           group_field=None, group_sampling=False,
                           load_splits=lambda data_dir, seed, source="files": SPLITS,
                           default_options=lambda spec, options: options)
    import pld.jobs.setup as setup

    monkeypatch.setattr(setup, "get_task", lambda name: task)
    monkeypatch.setattr(suite, "make_lm", lambda spec, options: built.setdefault(spec, options))
    monkeypatch.setattr(suite, "run_comparison", lambda settings, **kwargs: kwargs)
    roles = RoleOptions(teacher=LMOptions(api_base="http://teacher:8000", temperature=0.7),
                        student=LMOptions(api_base="http://student:11434"))
    suite.compare(CompareSettings(task="toy", student="s", teacher="t", student_max_tokens=32), tmp_path, roles)
    assert built["t"] == roles.teacher.replace(seed=None)
    assert built["s"] == roles.student.replace(seed=None, max_tokens=32)

    args = build_parser().parse_args(["compare", "--teacher-api-base", "http://t:1", "--student-temperature", "0.5",
                                      "--max-tokens", "99", "--student-max-tokens", "none"])
    cli_roles = compare_roles(args)
    assert cli_roles.teacher.api_base == "http://t:1" and cli_roles.student.api_base is None
    assert cli_roles.student.temperature == 0.5 and cli_roles.teacher.temperature == 0.0
    assert cli_roles.teacher.max_tokens == cli_roles.student.max_tokens == 99  # none: the shared cap applies
    assert args.student_max_tokens is None  # compare's own flag, one meaning: the student's cap


@pytest.mark.model
def test_real_models_counts_match_the_engine(tmp_path, data_dir):
    from pld.compare import compare

    settings = CompareSettings(task="stereoset", methods=("zero-shot", "few-shot", "bootstrap"), n_train=6,
                               n_val=3, n_test=3, budget=10, data_dir=str(data_dir))
    report = compare(settings, tmp_path)
    assert [r.status for r in report.methods] == ["ok", "ok", "ok"]
    assert all(r.engine_counts_match for r in report.methods)
    assert (tmp_path / "results.md").is_file()


# --- the method list ---------------------------------------------------------------------------
def test_the_method_list_is_explicit_and_fixed_at_import():
    code = ("import pld.compare.methods as m; before = m.method_names(); m.get_method('pld'); "
            "print(before == m.method_names(), ','.join(before))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    same, names = done.stdout.split()
    assert same == "True" and names.split(",") == method_names()
    assert set(DEFAULT_METHODS) <= set(method_names()) and "inferrules" in method_names()
    import pld.compare

    assert not hasattr(pld.compare, "register_method")
    with pytest.raises(TypeError):
        pld.compare.METHODS["mine"] = INFERRULES  # read-only: no registration by mutation


def test_a_custom_method_runs_beside_built_ins_without_registration(tmp_path):
    def _demos_of_my_own(ctx: MethodContext, settings: dict) -> dspy.Module:
        program = ctx.student.deepcopy()
        program.predict.demos = list(ctx.trainset)[: settings["k"]]
        return program

    mine = Method("mine", "two labelled demos, my way", _demos_of_my_own, lambda ctx: {"k": 2})
    before = method_names()
    report, _ = _run(tmp_path, ["zero-shot", mine])
    assert [r.method for r in report.methods] == ["zero-shot", "mine"]
    assert _row(report, "mine").status == "ok" and _row(report, "mine").settings == {"k": 2}
    assert report.settings.methods == ("zero-shot", "mine")
    assert method_names() == before
    with pytest.raises(ConfigError, match="unknown method"):
        get_method("mine")


# --- InferRules --------------------------------------------------------------------------------
def _rules_teacher(rules: list[str | None]):
    """The comparison's teacher, except that its rule-induction answers are ``rules`` in turn
    (``None``: an answer without the rules field, which the adapter cannot parse)."""
    answers = iter(rules)

    def respond(system: str, user: str, fields: list[OutputField]) -> dict:
        if any(f.name == "natural_language_rules" for f in fields):
            rules = next(answers)
            return {"reasoning": "The examples show it.", **({"natural_language_rules": rules} if rules else {})}
        return teacher_answers(system, user, fields)
    return respond


def _context(student_lm, teacher_lm, budget: int, signature=ToySignature) -> MethodContext:
    return MethodContext(student=Classifier(signature), student_lm=student_lm, teacher_lm=teacher_lm,
                         trainset=SPLITS.train, valset=SPLITS.val, metric=METRIC, seed=0, budget=budget)


def _lm_pair(rules: list[str]):
    student = dspy.LM("test/student", engine=CountingEngine(student_answers), cache=False)
    return student, dspy.LM("test/teacher", engine=CountingEngine(_rules_teacher(rules)), cache=False)


def test_inferrules_returns_its_best_candidate_not_its_last():
    student, teacher = _lm_pair([GOOD_INSTRUCTION, RULE_ALL_NEG])  # the last candidate is the worse one
    ctx = _context(student, teacher, budget=2 * len(SPLITS.val))
    settings = INFERRULES.settings(ctx)
    assert settings["num_candidates"] == 2
    with dspy.context(lm=student, adapter=student_adapter()):
        program = INFERRULES.compile(ctx, settings)
    scores = [log["score"] for log in program.trial_logs.values()]
    assert scores[0] == 1.0 > scores[1]
    instructions = program.predict.signature.instructions
    assert GOOD_INSTRUCTION in instructions and RULE_ALL_NEG not in instructions
    assert instructions.startswith("Label each item.")
    assert ToySignature.instructions == "Label each item."
    assert len(student.history) == 2 * len(SPLITS.val)  # the budget: each candidate on the validation set


def test_inferrules_skips_a_candidate_the_teacher_garbles(tmp_path):
    student, teacher = _lm_pair([None, RULE_ALL_NEG, GOOD_INSTRUCTION])
    ctx = _context(student, teacher, budget=3 * len(SPLITS.val))
    with dspy.context(lm=student, adapter=student_adapter()):
        program = INFERRULES.compile(ctx, INFERRULES.settings(ctx))
    assert program.trial_logs[0]["score"] is None and "AdapterParseError" in program.trial_logs[0]["error"]
    assert [program.trial_logs[i]["score"] for i in (1, 2)] == [pytest.approx(1 / 3), 1.0]
    assert GOOD_INSTRUCTION in program.predict.signature.instructions
    student, teacher = _lm_pair([None])
    ctx = _context(student, teacher, budget=len(SPLITS.val))
    with dspy.context(lm=student, adapter=student_adapter()), pytest.raises(RuntimeError, match="no usable rules"):
        INFERRULES.compile(ctx, INFERRULES.settings(ctx))


def test_inferrules_shows_the_teacher_as_many_examples_as_fit_its_context():
    # A teacher whose context holds three examples: DSPy's InferRules failed every candidate here.
    def small_context(system: str, user: str, fields: list[OutputField]) -> dict:
        if any(f.name == "natural_language_rules" for f in fields) and user.count("Input Fields:") > 3:
            raise dspy.lm15.ContextLengthError("prompt of 9000 tokens does not fit the 8192-token context")
        return _rules_teacher([GOOD_INSTRUCTION])(system, user, fields)

    student = dspy.LM("test/student", engine=CountingEngine(student_answers), cache=False)
    teacher_engine = CountingEngine(small_context)
    teacher = dspy.LM("test/teacher", engine=teacher_engine, cache=False)
    ctx = _context(student, teacher, budget=len(SPLITS.val))
    with dspy.context(lm=student, adapter=student_adapter()):
        program = INFERRULES.compile(ctx, INFERRULES.settings(ctx))
    assert program.trial_logs[0]["score"] == 1.0 and GOOD_INSTRUCTION in program.predict.signature.instructions
    shown = [user.count("Input Fields:") for _, user in teacher_engine.requests if "Input Fields:" in user]
    assert shown[-1] == 3 and len(SPLITS.train) > 3


def test_dspy_inferrules_still_returns_its_last_candidate():
    """Why ``BestInferRules`` exists; if DSPy fixes InferRules, this fails and the fix can go."""
    own_signature = ToySignature.with_instructions("Label each item.")  # DSPy's bug rewrites this class
    student, teacher = _lm_pair([GOOD_INSTRUCTION, RULE_ALL_NEG])
    optimizer = dspy.teleprompt.InferRules(num_candidates=2, num_rules=5, num_threads=1, metric=METRIC,
                                           teacher_settings={"lm": teacher}, max_errors=10_000)
    with dspy.context(lm=student, adapter=student_adapter()):
        program = optimizer.compile(Classifier(own_signature), trainset=list(SPLITS.train), valset=list(SPLITS.val))
    assert RULE_ALL_NEG in program.predict.signature.instructions
    assert RULE_ALL_NEG in own_signature.instructions
    assert issubclass(BestInferRules, dspy.teleprompt.InferRules)
