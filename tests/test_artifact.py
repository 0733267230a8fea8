"""Artifacts: atomic writes, checksums, refusals with clear messages, identical round trips."""

from __future__ import annotations

import json
import shutil

import dspy
import pytest

import pld
from pld.artifacts.artifact import SCHEMA_VERSION, read_manifest, write_artifact
from pld.artifacts.atomic import previous_path
from pld.errors import ArtifactError
from pld.evaluate import student_adapter
from pld.backends.options import LMOptions
from pld.pipeline.render import base_instructions, with_rules
from pld.tasks import get_task
from tests.fakes import function_lm

RULES = ["If the filled-in word is not a meaningful description of the target, answer unrelated."]


def _student(system: str, user: str) -> dict[str, str]:
    return {"label": "unrelated" if RULES[0] in system else "stereotype"}


def _manifest_fields(**overrides):
    task = get_task("stereoset")
    fields = dict(task="stereoset", strategy="zero-shot", signature="StereoSetSignature", label_field="label",
                  labels=list(task.labels), rules=[{"text": RULES[0]}], baseline_val_macro_f1=0.2,
                  final_val_macro_f1=0.3, teacher_model="test/teacher", student_model="test/student",
                  model_digests={}, data_fingerprints={"train": "x"}, costs={})
    fields.update(overrides)
    return fields


@pytest.fixture()
def artifact(tmp_path):
    program = get_task("stereoset").make_program()
    compiled = with_rules(program, base_instructions(program), RULES)
    path = write_artifact(tmp_path / "art", compiled, {"report.md": "# report\n"}, _manifest_fields())
    return path, compiled


def test_round_trip_gives_the_same_instructions_and_predictions(artifact, monkeypatch):
    path, compiled = artifact
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-never-written")
    lm, _ = function_lm(_student, "student")
    loaded = pld.load(path, student_lm=lm)
    assert loaded.predict.signature.instructions == compiled.predict.signature.instructions
    inputs = {"target": "chess player", "context": "The chess player was BLANK.", "sentence": "The chess player was fox."}
    with dspy.context(lm=lm, adapter=student_adapter()):
        assert loaded(**inputs).label == compiled(**inputs).label == "unrelated"
    for file in path.iterdir():
        assert "sk-secret-never-written" not in file.read_text()
    assert not list(path.parent.glob(".art.partial-*"))


def test_a_changed_byte_is_refused(artifact):
    path, _ = artifact
    state = path / "program.json"
    state.write_text(state.read_text().replace("unrelated", "unrelatex", 1))
    with pytest.raises(ArtifactError, match="checksum"):
        pld.load(path, student_lm=function_lm(_student, "s")[0])


def test_a_missing_file_is_refused(artifact):
    path, _ = artifact
    (path / "program.json").unlink()
    with pytest.raises(ArtifactError, match="missing"):
        read_manifest(path)


def test_a_newer_schema_is_refused(artifact):
    path, _ = artifact
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["schema_version"] = SCHEMA_VERSION + 1
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="upgrade pld"):
        read_manifest(path)


def test_a_truncated_manifest_is_refused(artifact):
    path, _ = artifact
    text = (path / "manifest.json").read_text()
    (path / "manifest.json").write_text(text[: len(text) // 2])
    with pytest.raises(ArtifactError, match="not valid JSON"):
        read_manifest(path)


def test_the_wrong_task_is_refused(artifact):
    path, _ = artifact
    with pytest.raises(ArtifactError, match="compiled for task 'stereoset'"):
        pld.load(path, student_lm=function_lm(_student, "s")[0], task="logiqa")


def test_not_an_artifact(tmp_path):
    with pytest.raises(ArtifactError, match="no manifest.json"):
        read_manifest(tmp_path)


def test_an_interrupted_write_leaves_the_previous_artifact_intact(artifact, monkeypatch):
    path, compiled = artifact
    before = (path / "manifest.json").read_text()

    def explode(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(type(compiled), "save", explode)
    with pytest.raises(KeyboardInterrupt):
        write_artifact(path, compiled, {}, _manifest_fields())
    assert (path / "manifest.json").read_text() == before
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".art")]  # no staging, no lock file
    assert not previous_path(path).exists()
    shutil.rmtree(path)


def test_a_rewrite_keeps_the_previous_artifact_loadable(artifact):
    path, compiled = artifact
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    write_artifact(path, compiled, {"report.md": "# second\n"}, _manifest_fields(final_val_macro_f1=0.5))
    previous = previous_path(path)
    assert {p.name: p.read_bytes() for p in previous.iterdir()} == before
    assert read_manifest(previous).final_val_macro_f1 == 0.3 and read_manifest(path).final_val_macro_f1 == 0.5


def test_rules_that_program_json_does_not_hold_are_refused(tmp_path):
    program = get_task("stereoset").make_program()
    compiled = with_rules(program, base_instructions(program), ["A rule the manifest does not list."])
    path = write_artifact(tmp_path / "art", compiled, {}, _manifest_fields())
    with pytest.raises(ArtifactError, match="manifest rules differ from program.json's instructions"):
        read_manifest(path)
    assert read_manifest(path, verify=False).rules == [{"text": RULES[0]}]


def test_other_optimizers_keep_their_own_instructions(tmp_path):
    program = get_task("stereoset").make_program()
    rewritten = with_rules(program, {"predict": "Classify the sentence carefully."}, [])
    fields = _manifest_fields(rules=[], costs={"method": "copro"})
    assert read_manifest(write_artifact(tmp_path / "copro", rewritten, {}, fields)).rules == []
    ruled = with_rules(program, {"predict": "Classify the sentence carefully."}, RULES)
    with pytest.raises(ArtifactError, match="manifest rules differ"):  # rules the manifest does not list
        read_manifest(write_artifact(tmp_path / "unlisted", ruled, {}, fields))


def test_cot_artifacts_are_checked_per_predictor(tmp_path):
    program = get_task("stereoset").make_program("cot")
    compiled = with_rules(program, base_instructions(program), RULES)
    path = write_artifact(tmp_path / "cot", compiled, {}, _manifest_fields(strategy="cot"))
    loaded = pld.load(path, student_lm=function_lm(_student, "s")[0])
    assert RULES[0] in loaded.predict.predict.signature.instructions


def test_loading_keeps_the_recorded_decoding_unless_set_explicitly(tmp_path, monkeypatch):
    program = get_task("stereoset").make_program()
    compiled = with_rules(program, base_instructions(program), RULES)
    fields = _manifest_fields(student_options={"label_mode": "grammar", "calibrate": True})
    path = write_artifact(tmp_path / "art", compiled, {}, fields)
    built: list[LMOptions] = []
    monkeypatch.setattr("pld.backends.lm.make_lm", lambda spec, options=None, **_: built.append(options) or
                        function_lm(_student, "s")[0])
    pld.load(path, options=LMOptions(api_base="http://server:8000/v1"))
    assert (built[-1].label_mode, built[-1].calibrate, built[-1].api_base) == ("grammar", True, "http://server:8000/v1")
    pld.load(path, calibrate=False)
    assert (built[-1].label_mode, built[-1].calibrate) == ("grammar", False)
    pld.load(path, options=LMOptions(label_mode="score"), label_mode="score")
    assert (built[-1].label_mode, built[-1].calibrate) == ("score", True)  # a field left at its default keeps the record
    pld.load(path, options=LMOptions(calibrate=False))
    assert (built[-1].label_mode, built[-1].calibrate) == ("grammar", False)  # said in the options: it wins
