"""Compiled programs on disk: a directory with the DSPy state, a manifest and a report.

Layout of ``ARTIFACT/``::

    manifest.json   schema version, versions, task, labels, rules, scores, models, data
                    fingerprints, costs, and a SHA-256 over everything else
    program.json    ``program.save()`` state (JSON, never pickle)
    report.json     the full run report (traces, rounds, costs)
    report.md       the review document a person reads

Writes go to a sibling temporary directory that is swapped into place under a lock, so an
interrupted save never leaves a directory that loads, and the replaced version stays recoverable
as ``ARTIFACT.previous/``. Reading checks every checksum and that the manifest's rules are the
rules ``program.json`` gives the student, so a manifest re-sealed by hand cannot misreport them.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from pld.artifacts.atomic import atomic_directory
from pld.artifacts.binding import bind_student
from pld.artifacts.manifest import Manifest, payload_checksum
from pld.errors import ArtifactError

if TYPE_CHECKING:  # reading a manifest (pld show) never imports DSPy
    import dspy

    from pld.backends.options import LabelMode, LMOptions, ModelSpec

SCHEMA_VERSION = 1
CONTENT_FILES = ("program.json", "report.json", "report.md")


def _save_unbound(program: dspy.Module, path: Path) -> None:
    """``program.save`` without the LM it is bound to: the manifest records the student, and the
    loader binds it again (``pld.artifacts.binding``); an LM's state has no place in program.json."""
    bound = [(predictor, predictor.lm) for predictor in program.predictors()]
    for predictor, _ in bound:
        predictor.lm = None
    try:
        program.save(str(path))
    finally:
        for predictor, lm in bound:
            predictor.lm = lm


def fingerprint(examples: list[dspy.Example]) -> str:
    """A hash of the examples' inputs and labels, in order."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(json.dumps({k: str(v) for k, v in sorted(example.items())}, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_artifact(out: str | Path, program: dspy.Module, files: dict[str, str], manifest_fields: dict[str, Any]) -> Path:
    """Write ``program`` and the text ``files`` atomically; return the artifact path."""
    import dspy

    from pld.version import __version__

    out = Path(out)
    with atomic_directory(out) as staging:
        _save_unbound(program, staging / "program.json")
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        manifest = Manifest(
            schema_version=SCHEMA_VERSION,
            pld_version=__version__,
            dspy_version=dspy.__version__,
            python_version=platform.python_version(),
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            checksums={name: _sha256(staging / name) for name in sorted(os.listdir(staging))},
            **manifest_fields,
        )
        manifest.checksum = manifest.content_checksum()
        (staging / "manifest.json").write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
    return out


def read_manifest(path: str | Path, *, verify: bool = True) -> Manifest:
    """The manifest of an artifact, refusing one that is missing, tampered, truncated or newer."""
    path = Path(path)
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise ArtifactError(f"{path} is not a PLD artifact: it has no manifest.json.")
    try:
        raw = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{manifest_path} is not valid JSON (truncated or edited by hand?): {exc}") from exc
    version = raw.get("schema_version") if isinstance(raw, dict) else None
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise ArtifactError(
            f"{path} uses artifact schema {version}, newer than this PLD understands ({SCHEMA_VERSION}); upgrade pld."
        )
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        raise ArtifactError(f"{manifest_path} does not match the artifact schema: {exc.errors()[0]['msg']}") from exc
    if verify:
        if manifest.checksum != payload_checksum(raw):
            raise ArtifactError(f"{path}/manifest.json was changed after it was written (checksum mismatch).")
        verify_artifact(path, manifest)
        verify_rules(path, manifest, _stored_instructions(path))
    return manifest


def verify_artifact(path: Path, manifest: Manifest) -> None:
    """Every content file is present and matches its recorded SHA-256."""
    for name, expected in manifest.checksums.items():
        file = path / name
        if not file.is_file():
            raise ArtifactError(f"{path} is incomplete: {name} is missing.")
        if _sha256(file) != expected:
            raise ArtifactError(
                f"{path}/{name} does not match its checksum: the file was modified or truncated. Recompile it."
            )


def _stored_instructions(path: Path) -> dict[str, str]:
    """Each predictor's instructions as ``program.json`` holds them, by predictor name."""
    try:
        state = json.loads((path / "program.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path}/program.json cannot be read as JSON: {exc}") from exc
    if not isinstance(state, dict):
        raise ArtifactError(f"{path}/program.json is not a DSPy program state (not a JSON object).")
    found: dict[str, str] = {}
    for name, entry in state.items():
        signature = entry.get("signature") if isinstance(entry, dict) else None
        if isinstance(signature, dict) and isinstance(signature.get("instructions"), str):
            found[name] = signature["instructions"]
    return found


def verify_rules(path: Path, manifest: Manifest, instructions: dict[str, str]) -> None:
    """The manifest's rules, rendered after each predictor's own instructions, are exactly that
    predictor's ``instructions``: what ``pld show`` lists is what the student reads.

    A predictor's own instructions are the text before the rules block (all of it when there is
    none), so artifacts of other optimizers, which record no rules, keep their own wording.
    """
    from pld.pipeline.render import render_instructions

    rules = [rule.get("text") for rule in manifest.rules]
    if not all(isinstance(text, str) for text in rules):
        raise ArtifactError(f"{path}/manifest.json has a rule without text (edited by hand?).")
    if not instructions:
        raise ArtifactError(f"{path}/program.json holds no predictor instructions.")
    labels = [str(label) for label in (getattr(manifest, "labels", None) or [])]
    for text in instructions.values():
        base = own_instructions(text)
        # Artifacts written before the closing "when no rule applies" line render without labels.
        if text.strip() not in (render_instructions(base, rules, labels), render_instructions(base, rules)):
            raise ArtifactError(
                f"{path}: manifest rules differ from program.json's instructions (re-sealed by hand?). "
                "Recompile it, or restore its .previous version."
            )


def _field_key(text: str) -> str:
    """A field name or prefix reduced to letters and digits: ``doc_id`` and ``Doc Id:`` meet."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _check_fields(path: Path, program: dspy.Module) -> None:
    """Refuse a ``program.json`` whose saved fields differ, by name, from the program's signature.

    DSPy restores a signature's fields by position and saves no names, only prefixes (``Target:``,
    derived from the name): a reordered or renamed field would load silently and mislabel inputs.
    """
    try:
        state = json.loads((path / "program.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path}/program.json cannot be read as JSON: {exc}") from exc
    for name, predictor in program.named_predictors():
        entry = state.get(name) if isinstance(state, dict) else None
        saved = entry.get("signature", {}).get("fields") if isinstance(entry, dict) else None
        if not isinstance(saved, list):
            raise ArtifactError(f"{path}/program.json has no fields for predictor {name!r}; not this task's program.")
        expected = [(field, info.json_schema_extra.get("prefix", "")) for field, info in predictor.signature.fields.items()]
        got = [item.get("prefix", "") if isinstance(item, dict) else "" for item in saved]
        matches = len(got) == len(expected) and all(
            prefix == own or _field_key(prefix) == _field_key(field) for prefix, (field, own) in zip(got, expected))
        if not matches:
            raise ArtifactError(
                f"{path}/program.json's fields ({', '.join(got)}) do not match the {name!r} signature's fields "
                f"({', '.join(field for field, _ in expected)}) by name; it was saved from another signature."
            )


def own_instructions(instructions: str) -> str:
    """A predictor's instructions without the rules block PLD appends (``instructions.j2``)."""
    from pld.pipeline.render import render_instructions

    header = render_instructions("", ["rule"]).splitlines()[0]
    base, found, _ = instructions.partition(f"\n\n{header}\n")
    return base if found else instructions


def load(
    path: str | Path,
    student_lm: str | ModelSpec | dspy.BaseLM | None = None,
    *,
    api_base: str | None = None,
    options: LMOptions | None = None,
    label_mode: LabelMode | None = None,
    calibrate: bool | None = None,
    task: str | None = None,
) -> dspy.Module:
    """A ready program from an artifact, bound to its recorded student or to ``student_lm`` (a spec,
    a ``ModelSpec``, or a ready DSPy LM), reached at ``api_base`` with ``options``.

    The student decodes labels as the artifact was scored (``label_mode``, ``calibrate``), so a
    loaded program answers as it did when its rules were selected. The keywords override that; so
    does a field of ``options`` set to other than its default. Refuses a tampered, truncated,
    newer-schema, re-sealed or (with ``task``) wrong-task artifact.
    """
    from pld.tasks import get_task

    path = Path(path)
    manifest = read_manifest(path)
    if task is not None and task != manifest.task:
        raise ArtifactError(f"{path} was compiled for task {manifest.task!r}, not {task!r}.")
    program = get_task(manifest.task).make_program(manifest.strategy)
    _check_fields(path, program)
    try:
        program.load(str(path / "program.json"))
    except Exception as exc:  # noqa: BLE001 - DSPy raises several types for a bad state file
        raise ArtifactError(f"{path}/program.json could not be loaded into the {manifest.task} program: {exc}") from exc
    verify_rules(path, manifest, {name: p.signature.instructions for name, p in program.named_predictors()})
    program.set_lm(bind_student(manifest, student_lm, api_base=api_base, options=options,
                                label_mode=label_mode, calibrate=calibrate))
    program.pld_manifest = manifest
    return program
