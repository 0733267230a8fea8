"""LogiQA examples, from the official text format or the hub.

The official format has eight lines per record: a blank line, the answer letter (a-d), the
passage, the question, and four options ``A.`` .. ``D.``. The English release was machine
translated and a few option lines lost or moved their ``X.`` prefix ("In the B.NEC ..."), so
the letter prefix is stripped when present and the line is kept whole otherwise.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import dspy

from pld.errors import DataError
from pld.signatures import LOGIQA_ANSWERS

from .data import read_text, require_fields
from .fields import text_field
from .hub import load_hub_split

logger = logging.getLogger(__name__)

LOGIQA_INPUTS: tuple[str, ...] = ("passage", "question", "options")
LOGIQA_HUB_ID = "lucasmccabe/logiqa"
OPTION_LETTERS: tuple[str, ...] = ("A", "B", "C", "D")
OPTION_FIELDS: tuple[str, ...] = tuple(f"option {letter}" for letter in OPTION_LETTERS)
_RECORD_HELP = (
    "each LogiQA record is a blank line, the answer letter (a-d), the passage, the question "
    "and four option lines A. to D."
)


def strip_option_prefix(text: str, letter: str) -> str:
    """``"A.Some text"`` -> ``"Some text"`` when the prefix is this option's own letter."""
    match = re.match(rf"\s*{letter}\s*[.．)]\s*|\s*{letter}\s+(?=\S)", text, flags=re.IGNORECASE)
    return text[match.end():].strip() if match else text.strip()


def format_options(options: Sequence[str]) -> str:
    """Render four option texts as one ``"A. ...\\nB. ...\\nC. ...\\nD. ..."`` string."""
    return "\n".join(f"{letter}. {text}" for letter, text in zip(OPTION_LETTERS, options))


def make_logiqa_example(
    *, id: str, passage: str, question: str, options: Sequence[str], answer: str
) -> dspy.Example:
    """One example; ``options`` are the four option texts without their letter prefix."""
    return dspy.Example(
        id=id,
        passage=passage,
        question=question,
        options=format_options(options),
        answer=answer,
    ).with_inputs(*LOGIQA_INPUTS)


def parse_logiqa(text: str, source: str | Path) -> list[dspy.Example]:
    """Parse the official text format; a malformed record raises a DataError at its line."""
    lines = text.splitlines()
    stem = Path(source).stem.lower()
    examples: list[dspy.Example] = []
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        record = lines[i : i + 7]
        if len(record) < 7:
            raise DataError(
                f"{source}:{i + 1}: record ends after {len(record)} line(s), expected 7 after "
                f"the blank line; {_RECORD_HELP}"
            )
        answer = record[0].strip().lower()
        if answer not in LOGIQA_ANSWERS:
            raise DataError(
                f"{source}:{i + 1}: expected the answer letter a-d, found {record[0][:60]!r}; "
                f"{_RECORD_HELP}"
            )
        for offset, what in enumerate(("passage", "question", *OPTION_FIELDS), start=1):
            if not record[offset].strip():
                raise DataError(f"{source}:{i + offset + 1}: empty {what}; {_RECORD_HELP}")
        if i + 7 < len(lines) and lines[i + 7].strip():
            raise DataError(
                f"{source}:{i + 8}: expected a blank line after option D, found "
                f"{lines[i + 7][:60]!r}; {_RECORD_HELP}"
            )
        options = [strip_option_prefix(t, letter) for t, letter in zip(record[3:], OPTION_LETTERS)]
        examples.append(
            make_logiqa_example(
                id=f"logiqa-{stem}-{len(examples)}",
                passage=record[1].strip(),
                question=record[2].strip(),
                options=options,
                answer=answer,
            )
        )
        i += 7
    if not examples:
        raise DataError(f"{source}: no records; {_RECORD_HELP}")
    return examples


def load_logiqa_file(path: str | Path) -> list[dspy.Example]:
    """Read one official LogiQA text file (e.g. ``eval.txt``)."""
    path = Path(path)
    examples = parse_logiqa(read_text(path), path)
    logger.info("loaded %d LogiQA records from %s", len(examples), path)
    return examples


def _answer_letter(value: Any, where: str) -> str:
    """The hub's ``correct_option`` (an index 0-3, as int or string, or a letter) as a-d."""
    text = str(value).strip().lower()
    if text.isdigit() and 0 <= int(text) < len(LOGIQA_ANSWERS):
        return LOGIQA_ANSWERS[int(text)]
    if text in LOGIQA_ANSWERS:
        return text
    raise DataError(f"{where}: correct_option {value!r} is neither 0-3 nor a-d")


def logiqa_examples_from_hub(rows: Iterable[Mapping[str, Any]], split: str) -> list[dspy.Example]:
    """Map hub rows ``{context, query, options[4], correct_option}`` to examples."""
    examples = []
    for row_number, row in enumerate(rows):
        where = f"{LOGIQA_HUB_ID} {split} row {row_number}"
        require_fields(row, ("context", "query", "options", "correct_option"), where)
        options = row["options"]
        if not isinstance(options, Sequence) or isinstance(options, str) or len(options) != len(OPTION_LETTERS):
            raise DataError(f"{where}: expected a list of 4 options, found {_describe(options)}")
        if not all(isinstance(option, str) for option in options):
            raise DataError(f"{where}: every option must be text; found {[type(o).__name__ for o in options]}")
        examples.append(
            make_logiqa_example(
                id=f"logiqa-hub-{split}-{row_number}",
                passage=text_field(row, "context", where).strip(),
                question=text_field(row, "query", where).strip(),
                options=[strip_option_prefix(o, l) for o, l in zip(options, OPTION_LETTERS)],
                answer=_answer_letter(row["correct_option"], where),
            )
        )
    return examples


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return f"{len(value)}"
    return f"a {type(value).__name__}"


def load_logiqa_hub(split: str = "validation") -> list[dspy.Example]:
    """Load one split from the hub (its ``validation`` is built from the official Eval.txt)."""
    return logiqa_examples_from_hub(load_hub_split(LOGIQA_HUB_ID, None, split), split)
