"""What holds the user's work: locked atomic swaps, recoverable edits, resealed manifests, CLI ranges."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import pld
from pld.artifacts import atomic
from pld.artifacts.artifact import payload_checksum, read_manifest
from pld.artifacts.atomic import atomic_directory, exclusive_lock, previous_path
from pld.cli import main
from pld.commands.types import fraction, non_negative_int, positive_int
from pld.errors import ArtifactError
from tests.conftest import copy_with_rules
from tests.fakes import function_lm

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "artifacts" / "stereoset-gemma3-270m"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


@pytest.fixture()
def artifact(tmp_path: Path) -> Path:
    return copy_with_rules(tmp_path / "art")


def _student(system: str, user: str) -> dict[str, str]:
    return {"label": "unrelated"}


# --- atomic directory replacement ----------------------------------------------------------

def _write(out: Path, tag: str, pause: float = 0.0) -> None:
    with atomic_directory(out) as staging:
        (staging / "a.txt").write_text(f"{tag}-a")
        time.sleep(pause)
        (staging / "b.txt").write_text(f"{tag}-b")


def test_a_replacement_keeps_the_old_version_as_previous(tmp_path):
    out = tmp_path / "out"
    _write(out, "one")
    _write(out, "two")
    _write(out, "three")
    assert snapshot(out) == {"a.txt": b"three-a", "b.txt": b"three-b"}
    assert snapshot(previous_path(out)) == {"a.txt": b"two-a", "b.txt": b"two-b"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "out.previous"]


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_two_concurrent_writers_leave_one_complete_version(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(atomic, "_exchange", lambda first, second: False)
    out = tmp_path / "out"
    _write(out, "zero")
    threads = [threading.Thread(target=_write, args=(out, tag, 0.3)) for tag in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final, kept = snapshot(out), snapshot(previous_path(out))
    assert final in ({"a.txt": b"x-a", "b.txt": b"x-b"}, {"a.txt": b"y-a", "b.txt": b"y-b"})
    assert kept in ({"a.txt": b"x-a", "b.txt": b"x-b"}, {"a.txt": b"y-a", "b.txt": b"y-b"}) and kept != final
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "out.previous"]


def test_two_processes_writing_one_artifact(tmp_path):
    out = tmp_path / "out"
    script = ("import sys, time; from pathlib import Path; from pld.artifacts.atomic import atomic_directory\n"
              "with atomic_directory(Path(sys.argv[1])) as s:\n"
              "    (s / 'a.txt').write_text(sys.argv[2]); time.sleep(0.5); (s / 'b.txt').write_text(sys.argv[2])\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(out), tag], env=env) for tag in ("p", "q")]
    assert [proc.wait(timeout=60) for proc in procs] == [0, 0]
    final, kept = snapshot(out), snapshot(previous_path(out))
    assert final["a.txt"] == final["b.txt"] and kept["a.txt"] == kept["b.txt"] and final != kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "out.previous"]


def test_an_exception_inside_leaves_the_previous_version_byte_identical(tmp_path):
    out = tmp_path / "out"
    _write(out, "one")
    _write(out, "two")
    before, kept = snapshot(out), snapshot(previous_path(out))
    with pytest.raises(RuntimeError):
        with atomic_directory(out) as staging:
            (staging / "a.txt").write_text("half")
            raise RuntimeError("disk full")
    assert snapshot(out) == before and snapshot(previous_path(out)) == kept
    assert hidden(tmp_path) == []


def test_a_second_writer_gives_up_with_a_clear_error(tmp_path):
    out = tmp_path / "out"
    with exclusive_lock(out):
        with pytest.raises(ArtifactError, match=r"another PLD run \(process \d+\) is writing .*out"):
            with atomic_directory(out, wait_s=0.2):
                pass
    assert not out.exists() and hidden(tmp_path) == []


def test_stale_staging_is_removed_and_old_folders_are_left(tmp_path, caplog):
    out = tmp_path / "out"
    stale, fresh, old = (tmp_path / ".out.partial-dead", tmp_path / ".out.partial-busy", tmp_path / ".out.old-123")
    for folder in (stale, fresh, old):
        folder.mkdir()
    long_ago = time.time() - 2 * atomic.STALE_STAGING_S
    os.utime(stale, (long_ago, long_ago))
    _write(out, "one")
    assert hidden(tmp_path) == [".out.old-123", ".out.partial-busy"]
    assert "older PLD" in caplog.text


# --- manifests re-sealed by hand ----------------------------------------------------------

def _reseal(path: Path, change) -> None:
    manifest = json.loads((path / "manifest.json").read_text())
    change(manifest)
    manifest["checksum"] = payload_checksum(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2))


def test_the_committed_artifact_passes_every_check(tmp_path, artifact):
    shutil.copytree(COMMITTED, tmp_path / "committed")
    pld.load(tmp_path / "committed", student_lm=function_lm(_student, "s")[0])
    assert read_manifest(artifact).rules
    pld.load(artifact, student_lm=function_lm(_student, "s")[0])


@pytest.mark.parametrize("change", [
    lambda m: m["rules"][0].update(text="Always answer stereotype."),
    lambda m: m["rules"].clear(),
    lambda m: m["rules"].append({"text": "An extra rule the student never reads."}),
], ids=["reworded", "removed", "added"])
def test_a_hand_resealed_manifest_is_refused_by_load_and_show(artifact, capsys, change):
    _reseal(artifact, change)
    with pytest.raises(ArtifactError, match=r"manifest rules differ from program.json's instructions \(re-sealed by hand\?\)"):
        pld.load(artifact, student_lm=function_lm(_student, "s")[0])
    assert main(["show", str(artifact)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "re-sealed by hand" in err and len(err.strip().splitlines()) == 1


# --- pld edit ------------------------------------------------------------------------------

BAD_RULES_FILES = {
    "string.json": ('"Answer unrelated when the word is nonsense."', "a JSON string, not a list"),
    "object.json": ('{"rules": ["x"]}', "a JSON object, not a list"),
    "number.json": ("42", "a JSON number, not a list"),
    "string.txt": ('"Answer unrelated when the word is nonsense."', "a JSON string, not a list"),
    "mixed.json": ('["A rule.", 3]', "item 2 is a JSON number, not a string"),
    "empty-rule.json": ('["A rule.", "  "]', "item 2 is empty"),
    "newline.json": ('["A rule\\nwith a line break."]', "item 1 contains a line break"),
    "repeat.json": ('["A rule.", "A rule."]', "item 2 repeats an earlier rule"),
    "empty-list.json": ("[]", "empty JSON list"),
    "broken.txt": ('["A rule.",', "not valid JSON"),
    "empty.txt": ("  \n\n", "is empty"),
}


@pytest.mark.parametrize("name", sorted(BAD_RULES_FILES))
def test_edit_refuses_a_malformed_rules_file_and_writes_nothing(artifact, tmp_path, capsys, name):
    content, reason = BAD_RULES_FILES[name]
    rules_file = tmp_path / name
    rules_file.write_text(content)
    before = snapshot(artifact)
    assert main(["edit", str(artifact), "--rules-file", str(rules_file)]) == 2
    assert reason in capsys.readouterr().err
    assert snapshot(artifact) == before and not previous_path(artifact).exists()


def test_edit_refuses_a_file_that_is_not_utf8(artifact, tmp_path, capsys):
    rules_file = tmp_path / "rules.txt"
    rules_file.write_bytes(b"Answer \xff unrelated.\n")
    before = snapshot(artifact)
    assert main(["edit", str(artifact), "--rules-file", str(rules_file)]) == 2
    assert "not UTF-8" in capsys.readouterr().err and snapshot(artifact) == before


def test_good_edits_keep_the_version_before_them(artifact, tmp_path, capsys):
    original = snapshot(artifact)
    text_rules = tmp_path / "rules.txt"
    text_rules.write_text("If the word is nonsense, answer unrelated.\n\nOtherwise answer stereotype.\n")
    assert main(["edit", str(artifact), "--rules-file", str(text_rules)]) == 0
    assert str(previous_path(artifact)) in capsys.readouterr().out
    assert snapshot(previous_path(artifact)) == original
    assert [r["text"] for r in read_manifest(artifact).rules] == [
        "If the word is nonsense, answer unrelated.", "Otherwise answer stereotype."]
    first_edit = snapshot(artifact)

    json_rules = tmp_path / "rules.data"  # no .json suffix: recognised by its leading "["
    json_rules.write_text(json.dumps(["Answer anti-stereotype when the word reverses a stereotype."]))
    assert main(["edit", str(artifact), "--rules-file", str(json_rules), "--drop", "1"]) == 0
    assert read_manifest(artifact).rules == [] and snapshot(previous_path(artifact)) == first_edit
    loaded = pld.load(artifact, student_lm=function_lm(_student, "s")[0])
    assert "Apply these rules" not in loaded.predict.signature.instructions
    assert hidden(artifact.parent) == []


def test_an_edit_that_changes_nothing_is_refused(artifact, tmp_path, capsys):
    rules_file = tmp_path / "same.txt"
    rules_file.write_text("".join(rule["text"] + "\n" for rule in read_manifest(artifact).rules))
    assert main(["edit", str(artifact), "--rules-file", str(rules_file)]) == 2
    assert "unchanged" in capsys.readouterr().err and not previous_path(artifact).exists()


# --- numbers on the command line -----------------------------------------------------------

@pytest.mark.parametrize("argv, flag", [
    (["compile", "--train", "-3"], "--train"),
    (["compile", "--val", "0"], "--val"),
    (["compile", "--max-rules", "-1"], "--max-rules"),
    (["compile", "--max-repair-rounds", "-1"], "--max-repair-rounds"),
    (["evaluate", "--task", "stereoset", "--limit", "0"], "--limit"),
    (["evaluate", "--task", "stereoset", "--limit", "-5"], "--limit"),
    (["compare", "--budget", "0"], "--budget"),
    (["compare", "--test", "-2"], "--test"),
    (["distill-data", "--task", "stereoset", "--out", "x", "--limit", "-1"], "--train/--limit"),
    (["distill-data", "--task", "stereoset", "--out", "x", "--k-shot", "0"], "--k-shot"),
    (["edit", "art", "--drop", "0"], "--drop"),
])
def test_out_of_range_numbers_exit_2_with_a_usage_line(capsys, argv, flag):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: pld ") and f"argument {flag}" in err
    assert ">= " in err


@pytest.mark.parametrize("convert, good, bad", [
    (positive_int, {"1": 1, "12": 12}, ["0", "-3", "1.5", "x", ""]),
    (non_negative_int, {"0": 0, "7": 7}, ["-1", "two"]),
    (fraction, {"1": 1.0, "0.25": 0.25}, ["0", "1.01", "-0.5", "nan", "inf", "half"]),
])
def test_number_types_name_the_allowed_range(convert, good, bad):
    assert {text: convert(text) for text in good} == good
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError, match=r">= \d|\(0, 1\]"):
            convert(text)
