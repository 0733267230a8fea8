"""PLD's settings have one home (``PLDConfig``): validated at ``PLD(...)``, reachable from the CLI."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path
from types import SimpleNamespace

import pytest

from pld import PLD, ConfigError, PLDConfig
from pld.cli import build_parser, main
from pld.commands.common import TASK_NAMES
from pld.commands.compile import settings_from
from pld.config import JOB_DEFAULTS, CompileSettings
from pld.distill import DistillSettings

FIELDS = list(PLDConfig.model_fields)


@pytest.mark.parametrize(("settings", "words"), [
    ({"selection": "exhastive"}, ["selection='exhastive'", "'racing', 'exhaustive'", "did you mean 'exhaustive'"]),
    ({"trace_mode": "x"}, ["trace_mode='x'", "'label-conditioned', 'label-free'"]),
    ({"max_rules": -1}, ["max_rules=-1", "whole number >= 1"]),
    ({"max_rules": True}, ["max_rules=True", "whole number >= 1"]),
    ({"eps": 0}, ["eps=0", "> 0 and <= 2"]),
    ({"eps": float("nan")}, ["eps=nan", "finite number"]),
    ({"confidence": 1.0}, ["confidence=1.0", "> 0.5 and < 1"]),
    ({"confirm_fraction": 0.8}, ["confirm_fraction=0.8", ">= 0 and <= 0.5"]),
    ({"max_student_calls": 0}, ["max_student_calls=0", ">= 1 or None"]),
    ({"max_rule": 3}, ["unknown PLD setting 'max_rule'", "did you mean 'max_rules'"]),
    ({"colour": "blue"}, ["unknown PLD setting 'colour'", "known: trace_mode, eps"]),
])
def test_invalid_settings_are_refused_at_construction_with_one_line(settings, words):
    with pytest.raises(ConfigError) as refused:
        PLD(**settings)
    message = str(refused.value)
    assert "\n" not in message and all(word in message for word in words), message
    with pytest.raises(ConfigError) as direct:
        PLDConfig(**settings)
    assert str(direct.value) == message


def test_keyword_settings_work_as_before_and_live_in_config():
    optimizer = PLD(max_rules=3, min_gain=0.01, progress=False)
    assert optimizer.max_rules == 3 and optimizer.config.max_rules == 3 and optimizer.min_gain == 0.01
    assert list(optimizer.settings()) == [name for name in FIELDS if name != "progress"]
    optimizer.max_rules = 4  # validated, stored in config
    assert optimizer.config.max_rules == 4 and "max_rules" not in vars(optimizer)
    with pytest.raises(ConfigError, match="max_rules=0"):
        optimizer.max_rules = 0
    assert PLD(**optimizer.get_params()).config == optimizer.config


def test_a_config_and_keywords_combine_keywords_winning():
    optimizer = PLD(config=PLDConfig(max_rules=2, eps=0.3), eps=0.5)
    assert (optimizer.config.max_rules, optimizer.config.eps) == (2, 0.5)
    with pytest.raises(ConfigError, match="config must be a pld.PLDConfig"):
        PLD(config={"max_rules": 2})
    with pytest.raises(Exception, match="frozen"):
        optimizer.config.max_rules = 1


def test_estimate_reads_the_config():
    optimizer = PLD(max_candidates=2, max_rules=1, max_repair_rounds=0)
    assert optimizer.estimate(3, 6) == {"teacher_calls": 5, "student_calls": 18}
    assert PLDConfig().selection == "racing" and PLDConfig().confidence == 0.95


def test_the_signature_and_docstring_list_every_setting():
    parameters = inspect.signature(PLD).parameters
    assert all(parameters[name].default == field.default for name, field in PLDConfig.model_fields.items())
    doc = PLD.__init__.__doc__ or ""
    assert all(f"{name}: {field.description.split()[0]}" in doc for name, field in PLDConfig.model_fields.items())


def test_job_settings_hold_a_pld_config():
    assert CompileSettings().pld == JOB_DEFAULTS
    assert (JOB_DEFAULTS.max_candidates, JOB_DEFAULTS.max_rules, JOB_DEFAULTS.max_repair_rounds,
            JOB_DEFAULTS.max_teacher_calls, JOB_DEFAULTS.max_student_calls) == (6, 3, 1, 60, 1500)
    with pytest.raises(ConfigError, match="unknown compile setting 'max_rules'"):
        CompileSettings(max_rules=1)
    with pytest.raises(ConfigError, match="invalid PLD setting max_rules=0"):
        CompileSettings(pld={"max_rules": 0})
    assert DistillSettings(pld=PLDConfig(trace_mode="label-free")).unlabeled


def _subparser(name: str) -> argparse.ArgumentParser:
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices[name]


def test_every_setting_is_a_flag_of_pld_compile():
    flags = {option for action in _subparser("compile")._actions for option in action.option_strings}
    missing = [name for name in FIELDS if "--" + name.replace("_", "-") not in flags]
    assert missing == []
    assert "--no-progress" in flags


def test_compare_prefixes_the_flags_it_exposes():
    flags = {option for action in _subparser("compare")._actions for option in action.option_strings}
    assert {"--pld-max-rules", "--pld-confidence", "--pld-selection"} <= flags
    assert not {"--pld-seed", "--pld-max-student-calls", "--max-rules"} & flags  # --seed, --budget are shared


def test_a_flag_value_reaches_the_optimizer():
    args = build_parser().parse_args(["compile", "--confidence", "0.9", "--max-teacher-calls", "none", "--seed", "7",
                                      "--no-progress", "--selection", "racing", "--train", "4"])
    settings = settings_from(args)
    assert settings.n_train == 4
    assert (settings.pld.confidence, settings.pld.max_teacher_calls, settings.pld.seed) == (0.9, None, 7)
    assert (settings.pld.progress, settings.pld.selection, settings.pld.max_rules) == (False, "racing", 3)
    assert PLD(config=settings.pld).config.confidence == 0.9


def test_pld_compile_hands_the_settings_to_compile_task(tmp_path, monkeypatch, capsys):
    import pld.jobs

    seen: list[CompileSettings] = []

    def fake_compile_task(task: str, out: str, settings: CompileSettings, options: object) -> Path:
        seen.append(settings)
        (tmp_path / "report.md").write_text("report", encoding="utf-8")
        return tmp_path

    monkeypatch.setattr(pld.jobs, "compile_task", fake_compile_task)
    assert main(["compile", "--eps", "0.25", "--min-samples", "3", "--num-threads", "2", "--out", str(tmp_path)]) == 0
    assert (seen[0].pld.eps, seen[0].pld.min_samples, seen[0].pld.num_threads) == (0.25, 3, 2)


def test_compare_flags_reach_the_pld_row():
    from pld.compare.peers import pld_method
    from pld.commands.compare import FLAGS
    from pld.compare.settings import COMPARE_PLD

    args = build_parser().parse_args(["compare", "--pld-max-rules", "2", "--budget", "50", "--seed", "3"])
    settings = pld_method(FLAGS.read(args, COMPARE_PLD)).settings(SimpleNamespace(budget=50, seed=3))
    assert (settings["max_rules"], settings["max_student_calls"], settings["seed"]) == (2, 50, 3)
    assert (settings["num_threads"], settings["progress"]) == (1, False)


def test_distill_data_reads_its_trace_mode_from_the_same_field():
    parse = build_parser().parse_args
    assert parse(["distill-data", "--task", "stereoset", "--out", "x"]).trace_mode == "label-conditioned"
    assert parse(["distill-data", "--task", "stereoset", "--out", "x", "--unlabeled"]).trace_mode == "label-free"
    assert parse(["distill-data", "--task", "stereoset", "--out", "x", "--trace-mode", "label-free"]).trace_mode \
        == "label-free"


def test_a_bad_choice_stops_with_the_usage_line(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["compile", "--selection", "x"])
    err = capsys.readouterr().err
    assert stopped.value.code == 2
    assert err.startswith("usage: pld compile") and "invalid choice: 'x'" in err


@pytest.mark.parametrize(("flag", "value", "allowed"), [
    ("--max-rules", "0", "a whole number >= 1"),
    ("--eps", "3", "a finite number > 0 and <= 2"),
    ("--confidence", "nan", "a finite number > 0.5 and < 1"),
    ("--max-student-calls", "lots", "a whole number >= 1 or None ('none' for None)"),
])
def test_a_value_out_of_bounds_stops_with_one_line(capsys, flag, value, allowed):
    with pytest.raises(SystemExit) as stopped:
        main(["compile", flag, value])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if not line.startswith(("usage:", " "))]
    assert stopped.value.code == 2 and "Traceback" not in err
    assert errors == [f"pld compile: error: argument {flag}: must be {allowed}, got {value!r}"]


def test_help_lists_the_settings(capsys):
    with pytest.raises(SystemExit):
        main(["compile", "--help"])
    text = capsys.readouterr().out
    assert "PLD settings" in text and "--confidence" in text and "paired bootstrap interval" in text


def test_the_help_texts_task_names_are_the_suites():
    from pld.tasks import TASKS

    assert TASK_NAMES == tuple(TASKS)


def test_every_settings_class_refuses_unknown_keys_and_bad_values_with_one_line():
    from pld.backends.options import LMOptions
    from pld.compare.settings import CompareSettings
    from pld.distill.job import DistillSettings
    from pld.errors import ConfigError

    for settings, bad in ((CompareSettings, {"n_tset": 3}), (DistillSettings, {"splt": "val"}),
                          (CompareSettings, {"budget": 0}), (DistillSettings, {"split": "dev"}),
                          (DistillSettings, {"rationale_fraction": 1.5}), (CompileSettings, {"n_trian": 3}),
                          (LMOptions, {"temprature": 0.5}), (LMOptions, {"timeout": -1})):
        with pytest.raises(ConfigError) as error:
            settings(**bad)
        assert "\n" not in str(error.value) and next(iter(bad)) in str(error.value)
    assert "'train', 'val', 'test'" in _message(lambda: DistillSettings(split="dev"))
    assert "(--retries)" in _message(lambda: LMOptions(num_retries=-1))  # an option names the flag that sets it


def _message(build) -> str:
    from pld.errors import ConfigError

    try:
        build()
    except ConfigError as error:
        return str(error)
    raise AssertionError("no error")
