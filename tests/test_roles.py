"""Per-role model settings: a teacher and a student each reach their own server with their own
temperature, token cap, timeout and retries; artifacts record each role's backend without
credentials; a loaded artifact keeps its label decoding unless the caller overrides it.

End to end, the teacher and the student are two real OpenAI-compatible servers on loopback
(tests/fault_server.py), one of them behind HTTP basic auth.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import pld
from pld.artifacts.artifact import payload_checksum, read_manifest, write_artifact
from pld.artifacts.backend_records import backend_record
from pld.backends.base import backend_info
from pld.backends.lm import make_lm
from pld.backends.options import LMOptions, ModelSpec, RoleOptions
from pld.cli import build_parser, main
from pld.commands.common import decoding_overrides, lm_options, role_options
from pld.errors import ConfigError
from pld.pipeline.render import base_instructions, with_rules
from pld.tasks import get_task
from tests.fakes import function_lm
from tests.fault_server import requests_seen

RULE = "If the filled-in word is not a meaningful description of the target, answer unrelated."


pytestmark = pytest.mark.usefixtures("no_ambient_key")


def test_role_flags_override_the_shared_ones_for_that_role_only():
    args = build_parser().parse_args([
        "compile", "--api-base", "http://shared:8000/v1", "--temperature", "0.2", "--timeout", "30",
        "--teacher-api-base", "https://api.example/v1", "--teacher-temperature", "0.7", "--teacher-retries", "5",
        "--student-max-tokens", "16", "--student-timeout", "9", "--student-chat-format", "gemma",
    ])
    roles = role_options(args)
    assert (roles.teacher.api_base, roles.teacher.temperature, roles.teacher.num_retries) == \
        ("https://api.example/v1", 0.7, 5)
    assert (roles.teacher.max_tokens, roles.teacher.timeout, roles.teacher.chat_format) == (None, 30.0, None)
    assert (roles.student.api_base, roles.student.temperature, roles.student.max_tokens) == \
        ("http://shared:8000/v1", 0.2, 16)
    assert (roles.student.timeout, roles.student.chat_format, roles.student.num_retries) == (9.0, "gemma", 2)
    assert lm_options(args) == LMOptions(api_base="http://shared:8000/v1", temperature=0.2, timeout=30.0)


def test_each_command_offers_the_roles_it_runs():
    parser = build_parser()
    assert lm_options(parser.parse_args(["distill-data", "--task", "stereoset", "--out", "x",
                                         "--teacher-api-base", "http://t/v1"]), "teacher").api_base == "http://t/v1"
    evaluate = parser.parse_args(["evaluate", "--task", "stereoset", "--student-api-base", "http://s/v1"])
    assert lm_options(evaluate, "student").api_base == "http://s/v1"
    predict = parser.parse_args(["predict", "art", "--input", "x", "--api-base", "http://s/v1"])
    assert lm_options(predict, "student").api_base == "http://s/v1"
    assert decoding_overrides(predict) == {"label_mode": None, "calibrate": None}  # None: as the artifact records
    with pytest.raises(SystemExit):
        parser.parse_args(["evaluate", "--task", "stereoset", "--teacher-api-base", "http://t/v1"])


def test_role_options_reach_the_right_lm():
    roles = RoleOptions(teacher=LMOptions(api_base="http://user:secret@teacher:8000/v1", temperature=0.7, timeout=5),
                        student=LMOptions(api_base="http://student:11434/v1", max_tokens=12))
    teacher = make_lm("openai/big", roles.teacher, check=False)
    student = make_lm("openai/small", roles.student, check=False)
    assert (teacher.kwargs["api_base"], teacher.kwargs["temperature"]) == ("http://teacher:8000/v1", 0.7)
    assert (student.kwargs["api_base"], student.kwargs["temperature"]) == ("http://student:11434/v1", 0.0)
    assert backend_info(teacher).server == "http://teacher:8000/v1" and backend_info(teacher).timeout == 5
    record = backend_record(student)
    assert (record.kind, record.server, record.max_tokens) == ("openai", "http://student:11434/v1", 12)
    assert "secret" not in backend_record(teacher).model_dump_json()
    assert record.chat_format is None  # LiteLLM's chat route: the server applies its own template
    served = make_lm("openai/small", LMOptions(api_base="http://student:8080/v1", chat_format="chatml"), check=False)
    assert backend_record(served).chat_format == "chatml"  # the manifest says how prompts were rendered
    assert RoleOptions.of(roles.student) == RoleOptions(teacher=roles.student, student=roles.student)


def test_a_compile_with_a_server_per_role_records_both_without_credentials(serve, capsys, data_dir, tmp_path):
    teacher_base, student_base = serve("basic"), serve("ok")
    secret_base = teacher_base.replace("http://", "http://user:secret@")
    art = tmp_path / "art"
    code = main(["compile", "--task", "stereoset", "--teacher", "openai/x", "--student", "openai/x",
                 "--teacher-api-base", secret_base, "--student-api-base", student_base, "--train", "3", "--val", "4",
                 "--max-repair-rounds", "0", "--no-progress", "--out", str(art), "--data-dir", str(data_dir),
                 "--no-cache"])
    output = capsys.readouterr()
    assert code == 0, output.err
    teacher_seen, student_seen = requests_seen(teacher_base), requests_seen(student_base)
    assert teacher_seen["requests"] >= 3 and student_seen["requests"] >= 4
    assert set(teacher_seen["authorizations"]) == {"Basic dXNlcjpzZWNyZXQ="}  # the teacher's own credentials
    assert set(student_seen["authorizations"]) <= {"", "Bearer none"}  # never the teacher's
    manifest = read_manifest(art)
    assert manifest.backends["teacher"].server == teacher_base and manifest.backends["teacher"].kind == "openai"
    assert manifest.backends["student"].server == student_base
    for path in art.iterdir():
        assert "secret" not in path.read_text(encoding="utf-8"), path.name
    assert f"openai/x at {student_base}" in (art / "report.md").read_text(encoding="utf-8")

    program = pld.load(art, student_lm="openai/x", api_base=student_base)  # an app binds its own server
    before = requests_seen(student_base)["requests"]
    assert program(target="chess player", context="The chess player was BLANK.",
                   sentence="The chess player was fox.").label == "unrelated"
    assert requests_seen(student_base)["requests"] == before + 1


def test_model_specs_with_options_put_each_role_on_its_own_server(serve, data_dir):
    teacher_base, student_base = serve("ok"), serve("ok")
    task = get_task("stereoset")
    splits = task.load_splits(str(data_dir), seed=0)
    optimizer = pld.PLD(teacher_lm=ModelSpec("openai/x", LMOptions(api_base=teacher_base, cache=False)),
                        student_lm=ModelSpec("openai/x", LMOptions(api_base=student_base, cache=False, max_tokens=8)),
                        metric=pld.macro_f1(task.label_field, task.labels), max_candidates=2, max_rules=1,
                        max_repair_rounds=0, progress=False)
    optimizer.compile(task.make_program(), trainset=splits.train[:3], valset=splits.val[:4])
    assert requests_seen(teacher_base)["requests"] >= 3  # the teacher traced every training example
    assert requests_seen(student_base)["requests"] >= 4  # the student answered the validation set


def _artifact(tmp_path: Path, **fields: object) -> Path:
    program = get_task("stereoset").make_program()
    compiled = with_rules(program, base_instructions(program), [RULE])
    manifest = dict(task="stereoset", strategy="zero-shot", signature="StereoSetSignature", label_field="label",
                    labels=list(get_task("stereoset").labels), rules=[{"text": RULE}], baseline_val_macro_f1=0.2,
                    final_val_macro_f1=0.3, teacher_model="test/teacher", student_model="local/gemma3-270m",
                    model_digests={}, data_fingerprints={"train": "x"}, costs={},
                    student_options={"label_mode": "grammar", "calibrate": True})
    manifest.update(fields)
    return write_artifact(tmp_path / "art", compiled, {}, manifest)


@pytest.fixture()
def built(monkeypatch: pytest.MonkeyPatch) -> list[LMOptions]:
    """Every student ``pld.load`` builds is a fake; the options it was built with are recorded."""
    seen: list[LMOptions] = []

    def fake_make_lm(spec: str, options: LMOptions | None = None, **_: object):
        seen.append(options or LMOptions())
        return function_lm(lambda system, user: {"label": "unrelated"}, "student")[0]

    monkeypatch.setattr("pld.backends.lm.make_lm", fake_make_lm)
    return seen


def test_load_keeps_the_recorded_decoding_unless_overridden(tmp_path, built):
    path = _artifact(tmp_path)
    pld.load(path, student_lm="ollama/gemma3:4b", api_base="http://gpu-box:11434")
    assert (built[-1].label_mode, built[-1].calibrate, built[-1].api_base) == ("grammar", True, "http://gpu-box:11434")
    pld.load(path, student_lm=ModelSpec("ollama/gemma3:4b", LMOptions(timeout=7)))
    assert (built[-1].label_mode, built[-1].calibrate, built[-1].timeout) == ("grammar", True, 7)
    pld.load(path, label_mode="score")
    assert (built[-1].label_mode, built[-1].calibrate) == ("score", True)
    pld.load(path, options=LMOptions(calibrate=True, label_mode="grammar"), calibrate=False)
    assert (built[-1].label_mode, built[-1].calibrate) == ("grammar", False)
    with pytest.raises(ConfigError, match="not both"):
        pld.load(path, student_lm=ModelSpec("ollama/gemma3:4b"), options=LMOptions())


def test_evaluate_an_artifact_keeps_its_decoding(tmp_path, built, data_dir, capsys):
    path = _artifact(tmp_path)
    assert main(["evaluate", str(path), "--task", "stereoset", "--limit", "3", "--data-dir", str(data_dir)]) == 0
    assert (built[-1].label_mode, built[-1].calibrate) == ("grammar", True)
    assert main(["evaluate", str(path), "--task", "stereoset", "--limit", "3", "--data-dir", str(data_dir),
                 "--no-calibrate", "--student-api-base", "http://gpu-box:11434"]) == 0
    assert (built[-1].label_mode, built[-1].calibrate, built[-1].api_base) == ("grammar", False, "http://gpu-box:11434")
    capsys.readouterr()


def test_a_served_student_without_an_address_gets_a_python_fix(tmp_path):
    path = _artifact(tmp_path, student_model="openai/gemma",
                     backends={"student": {"spec": "openai/gemma", "kind": "openai", "server": "http://box:8080/v1"}})
    with pytest.raises(ConfigError) as info:
        pld.load(path)
    message = str(info.value)
    assert "pld.load(path, student_lm='openai/gemma', api_base=" in message and "http://box:8080/v1" in message
    with pytest.raises(ConfigError, match="api_base="):
        pld.load(path, student_lm="openai/gemma", options=LMOptions(chat_format="gemma"))


def test_older_manifests_without_backends_still_load(tmp_path):
    path = _artifact(tmp_path)
    raw = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    del raw["backends"]  # as a PLD before per-role records wrote it, sealed the same way
    raw["checksum"] = payload_checksum(raw)
    (path / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    assert read_manifest(path).backends == {}
