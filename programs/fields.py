"""Checks of one record's text fields, shared by the data loaders.

A null or non-text input field is refused with the file and line (or hub row) rather than read as
the text "None" or "42": a data file that holds one is damaged or not in the official format, and
a silently skipped row would change the splits, which must be the same on every machine. Labels
outside a task's label set are refused for the same reason (``check_label``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pld.errors import DataError


def text_field(record: Mapping[str, Any], name: str, where: str) -> str:
    """``record[name]`` if it is a string; a null or another type is a DataError naming ``where``."""
    if name not in record:
        raise DataError(f"{where}: missing field {name!r}")
    value = record[name]
    if value is None:
        raise DataError(f"{where}: field {name!r} is null; expected text (the file is damaged or not the official one)")
    if not isinstance(value, str):
        raise DataError(f"{where}: field {name!r} is a {type(value).__name__}, expected text")
    return value


def id_field(record: Mapping[str, Any], name: str, where: str) -> str:
    """An identifier: text or a number (as text), never null."""
    value = record.get(name)
    if value is None or isinstance(value, (bool, list, dict)):
        raise DataError(f"{where}: field {name!r} is {'null' if value is None else type(value).__name__}; "
                        "expected an identifier")
    return str(value)
