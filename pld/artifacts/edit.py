"""Editing an artifact's rules by hand: strict reading of rules files, recoverable rewrites.

A rules file is either a JSON list of non-empty one-line strings (a ``.json`` file, or any file
whose content starts with ``[``) or plain text with one rule per line. Anything else is refused
before the artifact is touched: a JSON string is not turned into one rule per character.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dspy

from pld.artifacts.artifact import Manifest, read_manifest, write_artifact
from pld.errors import ConfigError, DataError
from pld.pipeline.render import base_instructions, with_rules

RULES_FILE_HELP = 'write one rule per line, or a JSON list of strings such as ["Rule one.", "Rule two."]'


def edit_rules(path: str | Path, rules: Sequence[str]) -> Manifest:
    """Replace an artifact's rules by hand, re-render the program, and re-seal it as edited.

    The version replaced stays complete in ``<artifact>.previous`` (``pld.artifacts.atomic.previous_path``).
    """
    from pld.tasks import get_task

    path = Path(path)
    manifest = read_manifest(path)
    rules = check_rules(rules, "rule")
    if rules == [rule["text"] for rule in manifest.rules]:
        raise ConfigError(f"the rules of {path} are unchanged; nothing was written.")
    fresh = get_task(manifest.task).make_program(manifest.strategy)
    program: dspy.Module = with_rules(fresh, base_instructions(fresh), rules)
    old = {rule["text"]: rule for rule in manifest.rules}
    fields = manifest.model_dump(exclude={"schema_version", "pld_version", "dspy_version", "python_version",
                                          "created_at", "checksums", "checksum"})
    fields.update(
        rules=[old.get(text, {"text": text, "source": "hand-edit", "marginal_gain": None}) for text in rules],
        edited_by_hand=True,
        final_val_macro_f1=None,  # no longer measured: re-score with `pld evaluate ARTIFACT`
    )
    files = {name: (path / name).read_text(encoding="utf-8") for name in manifest.checksums if name != "program.json"}
    write_artifact(path, program, files, fields)
    return read_manifest(path)


def check_rules(rules: Sequence[Any], what: str, numbers: Sequence[int] | None = None) -> list[str]:
    """Rules as stripped strings; refuses non-strings, empty rules, line breaks and repeats.

    ``what`` and ``numbers`` name a rule in messages (``line 7``); by default ``rule 1, 2, ...``.
    """
    if isinstance(rules, (str, bytes)):
        raise ConfigError(f"rules must be a list of strings, not one {type(rules).__name__}.")
    checked: list[str] = []
    for number, rule in zip(numbers or range(1, len(rules) + 1), rules):
        if not isinstance(rule, str):
            raise ConfigError(f"{what} {number} is {_kind(rule)}, not a string; {RULES_FILE_HELP}.")
        text = rule.strip()
        if not text:
            raise ConfigError(f"{what} {number} is empty; remove it or write the rule.")
        if "\n" in text or "\r" in text:
            raise ConfigError(f"{what} {number} contains a line break; a rule is one line of text.")
        if text in checked:
            raise ConfigError(f"{what} {number} repeats an earlier rule: {text!r}.")
        checked.append(text)
    return checked


def read_rules_file(path: str | Path) -> list[str]:
    """The rules in ``path``; refuses anything that is not clearly a list of rules."""
    file = Path(path)
    if not file.is_file():
        raise DataError(f"No rules file at {file}: {RULES_FILE_HELP}.")
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{file} is not UTF-8 text (byte {exc.start}); save it as UTF-8.") from exc
    except OSError as exc:
        raise DataError(f"{file} cannot be read ({exc.strerror}).") from exc
    if not text.strip():
        raise DataError(f"{file} is empty: {RULES_FILE_HELP}. To remove every rule, use --drop.")
    parsed = _json_or_none(text, file)
    if parsed is None:
        numbered = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
        return _checked([line for _, line in numbered], file, "line", [number for number, _ in numbered])
    if not isinstance(parsed, list):
        raise DataError(f"{file} holds {_kind(parsed)}, not a list of rules: {RULES_FILE_HELP}.")
    if not parsed:
        raise DataError(f"{file} is an empty JSON list. To remove every rule, use --drop.")
    return _checked(parsed, file, "item")


def _json_or_none(text: str, file: Path) -> Any | None:
    """The parsed JSON for a ``.json`` file or one starting with ``[``; None for a text file that
    is not JSON. Text that parses as a bare JSON value (a string, an object) counts as JSON."""
    looks_json = file.suffix.lower() == ".json" or text.lstrip().startswith("[")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if looks_json:
            raise DataError(f"{file}:{exc.lineno}: not valid JSON ({exc.msg}): {RULES_FILE_HELP}.") from exc
        return None


def _checked(rules: list[Any], file: Path, what: str, numbers: list[int] | None = None) -> list[str]:
    try:
        return check_rules(rules, what, numbers)
    except ConfigError as exc:
        raise DataError(f"{file}: {exc}") from exc


def _kind(value: Any) -> str:
    names = {str: "a JSON string", dict: "a JSON object", list: "a JSON list", bool: "a JSON boolean",
             int: "a JSON number", float: "a JSON number", type(None): "null"}
    return names.get(type(value), f"a {type(value).__name__}")
