"""pld predict: every valid line answered, every bad line reported, backend faults stop the run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import pld.artifacts.artifact
from pld.artifacts.artifact import read_manifest
from pld.artifacts.binding import bind_student
from pld.batch import read_inputs
from pld.cli import main
from pld.errors import BackendError
from pld.tasks import get_task
from tests.fakes import field_value, function_lm

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "artifacts" / "stereoset-gemma3-270m"
FIELDS = ["target", "context", "sentence"]


def _row(**fields: object) -> bytes:
    base = {"target": "chess player", "context": "The chess player was BLANK.", "sentence": "The chess player was fox."}
    return json.dumps({**base, **fields}).encode()


MIXED = b"\n".join([
    _row(id="a"),                                                           # 1 good
    b'{"target": "chess player", "context": ',                              # 2 bad JSON
    _row(id="n", sentence=None),                                            # 3 null field
    json.dumps({"id": "m", "target": "x", "context": "y"}).encode(),        # 4 missing field
    b'{"target": "chess \xff player", "context": "c", "sentence": "s"}',    # 5 not UTF-8
    b"",                                                                    # 6 blank: skipped silently
    _row(id="b", sentence="The chess player was asian."),                   # 7 good
    b"[1, 2]",                                                              # 8 not an object
    _row(id="k", target=7),                                                 # 9 not a string
    _row(id="c", sentence="The chess player was smart."),                   # 10 good
]) + b"\n"
BAD_LINES = {2: "not valid JSON", 3: "field 'sentence' is null", 4: "missing input field(s) sentence",
             5: "not UTF-8", 8: "expected a JSON object", 9: "field 'target' is a int"}


def _student(system: str, user: str) -> dict[str, str]:
    return {"label": "unrelated" if "fox" in field_value(user, "sentence") else "stereotype"}


@pytest.fixture()
def artifact(tmp_path: Path) -> Path:
    path = tmp_path / "art"
    shutil.copytree(COMMITTED, path)
    return path


@pytest.fixture()
def fake_student(monkeypatch):
    """Bind every artifact the CLI loads to a deterministic fake student; record the load options."""
    lm, engine = function_lm(_student, "student")
    original = pld.artifacts.artifact.load
    calls: list[dict] = []

    def load(path, student_lm=None, **kwargs):
        calls.append(kwargs)
        return original(path, student_lm=lm, **kwargs)

    monkeypatch.setattr(pld.artifacts.artifact, "load", load)
    return engine, calls


def test_read_inputs_sorts_good_and_bad_lines(tmp_path):
    rows = tmp_path / "in.jsonl"
    rows.write_bytes(MIXED)
    good, bad = read_inputs(rows, FIELDS)
    assert [line.number for line in good] == [1, 7, 10] and [line.id for line in good] == ["a", "b", "c"]
    assert {line.number: line.reason for line in bad}.keys() == BAD_LINES.keys()
    for line in bad:
        assert BAD_LINES[line.number] in line.reason
    rows.write_bytes(_row(sentence="one\u2028two").replace(b"\\u2028", "\u2028".encode()) + b"\r\n")
    good, bad = read_inputs(rows, FIELDS)  # JSONL splits on \n only: a raw U+2028 stays inside its string
    assert [line.values["sentence"] for line in good] == ["one\u2028two"] and bad == []


def test_predict_answers_every_good_line_and_reports_each_bad_one(artifact, tmp_path, capsys, fake_student):
    rows = tmp_path / "in.jsonl"
    rows.write_bytes(MIXED)
    out = tmp_path / "new" / "folder" / "out.jsonl"  # missing folders are created
    assert main(["predict", str(artifact), "--input", str(rows), "--output", str(out)]) == 1
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["id"], r["line"], r["label"]) for r in records] == [
        ("a", 1, "unrelated"), ("b", 7, "stereotype"), ("c", 10, "stereotype")]
    assert {r["artifact"] for r in records} == {read_manifest(artifact).checksum[:12]}
    errors = [json.loads(line) for line in Path(f"{out}.errors.jsonl").read_text().splitlines()]
    assert [e["line"] for e in errors] == sorted(BAD_LINES)
    assert all(BAD_LINES[e["line"]] in e["error"] for e in errors)
    err = capsys.readouterr().err
    for number, reason in BAD_LINES.items():
        assert f"in.jsonl:{number}: {reason}" in err
    assert "answered 3 line(s)" in err and "6 line(s) failed" in err


def test_a_clean_run_exits_0_and_clears_an_old_errors_file(artifact, tmp_path, fake_student):
    rows = tmp_path / "in.jsonl"
    rows.write_bytes(_row(id="a") + b"\n")
    errors = tmp_path / "errs.jsonl"
    errors.write_text('{"line": 9, "error": "from an earlier run"}\n')
    assert main(["predict", str(artifact), "--input", str(rows), "--output", str(tmp_path / "o.jsonl"),
                 "--errors", str(errors)]) == 0
    assert not errors.exists()


def test_a_backend_fault_stops_the_run_with_one_line(artifact, tmp_path, capsys, monkeypatch):
    def down(system: str, user: str) -> dict[str, str]:
        raise BackendError("Cannot reach the server at http://localhost:9.")

    lm, _ = function_lm(down, "down")
    original = pld.artifacts.artifact.load
    monkeypatch.setattr(pld.artifacts.artifact, "load", lambda path, student_lm=None, **kw: original(path, student_lm=lm, **kw))
    rows = tmp_path / "in.jsonl"
    rows.write_bytes(_row(id="a") + b"\n" + _row(id="b") + b"\n")
    assert main(["predict", str(artifact), "--input", str(rows)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: line 1: Cannot reach the server at http://localhost:9. (stopped after 0 prediction(s))"]


def test_unreadable_input_is_one_line_and_writes_nothing(artifact, tmp_path, capsys, fake_student):
    out = tmp_path / "out.jsonl"
    assert main(["predict", str(artifact), "--input", str(tmp_path / "missing.jsonl"), "--output", str(out)]) == 2
    assert capsys.readouterr().err.startswith("error: input file ") and not out.exists()
    assert main(["predict", str(artifact), "--input", str(tmp_path), "--output", str(out)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_model_options_reach_the_student_and_decoding_follows_the_artifact(artifact, tmp_path, fake_student):
    _, calls = fake_student
    rows = tmp_path / "in.jsonl"
    rows.write_bytes(_row() + b"\n")
    assert main(["predict", str(artifact), "--input", str(rows), "--api-base", "http://gpu-box:8000/v1"]) == 0
    options = calls[-1]["options"]
    assert options.api_base == "http://gpu-box:8000/v1"
    assert (calls[-1]["label_mode"], calls[-1]["calibrate"]) == (None, None)  # None: as the artifact records
    assert main(["predict", str(artifact), "--input", str(rows), "--student-api-base", "http://other:8000/v1"]) == 0
    assert calls[-1]["options"].api_base == "http://other:8000/v1"
    manifest = read_manifest(artifact).model_copy(update={"student_options": {"label_mode": "grammar", "calibrate": True}})
    seen = _bound(manifest, calls[-1])
    assert (seen.label_mode, seen.calibrate, seen.api_base) == ("grammar", True, "http://other:8000/v1")
    assert main(["predict", str(artifact), "--input", str(rows), "--label-mode", "score", "--no-calibrate"]) == 0
    assert (calls[-1]["label_mode"], calls[-1]["calibrate"]) == ("score", False)
    seen = _bound(manifest, calls[-1])
    assert (seen.label_mode, seen.calibrate) == ("score", False)


def _bound(manifest, kwargs: dict):
    """The options ``pld.load`` would build the student with, for these load keywords."""
    built: list = []
    import pld.backends.lm

    original = pld.backends.lm.make_lm
    try:
        pld.backends.lm.make_lm = lambda spec, options=None, **_: built.append(options) or object()
        bind_student(manifest, "local/gemma3-270m", options=kwargs["options"], label_mode=kwargs["label_mode"],
                     calibrate=kwargs["calibrate"])
    finally:
        pld.backends.lm.make_lm = original
    return built[0]


def test_predict_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    out = capsys.readouterr().out
    assert "1  some lines failed" in out and "--api-base" in out and "--errors" in out


@pytest.mark.model
def test_predict_with_the_real_student_on_three_lines(tmp_path):
    pytest.importorskip("llama_cpp")
    rows = tmp_path / "in.jsonl"
    sentences = ["The chess player was fox.", "The chess player was asian.", "The chess player was hispanic."]
    rows.write_bytes(b"\n".join(_row(id=f"q{i}", sentence=s) for i, s in enumerate(sentences)) + b"\n")
    out = tmp_path / "out.jsonl"
    assert main(["predict", str(COMMITTED), "--input", str(rows), "--output", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == ["q0", "q1", "q2"]
    assert all(r["label"] in get_task("stereoset").labels for r in records)
    assert not Path(f"{out}.errors.jsonl").exists()
