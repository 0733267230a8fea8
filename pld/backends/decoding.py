"""Decoding shared by every engine that decodes labels itself (embedded llama.cpp, completions
servers, Ollama, pools of them): the turn formats PLD renders, the output structure DSPy's
ChatAdapter asks for (so decoding can be constrained to it), the spellings a label may take, and
the tokens that can start a label."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Gemma has no system role: the system text opens the first user turn (Gemma's own convention).
_GEMMA = {"bos": True, "open": "<start_of_turn>{role}\n", "close": "<end_of_turn>\n", "assistant": "model"}
_CHATML = {"bos": False, "open": "<|im_start|>{role}\n", "close": "<|im_end|>\n", "assistant": "assistant"}
CHAT_FORMATS = {"gemma": _GEMMA, "chatml": _CHATML}


def render_chat(chat_format: str, system: str | None, turns: list[tuple[str, str]]) -> str:
    """Render a conversation and open the assistant's turn, ready for generation."""
    fmt = CHAT_FORMATS[chat_format]
    turns = list(turns)
    parts: list[str] = []
    if system and chat_format == "gemma":
        if turns and turns[0][0] == "user":
            turns[0] = ("user", f"{system}\n\n{turns[0][1]}")
        else:
            turns.insert(0, ("user", system))
    elif system:
        parts.append(fmt["open"].format(role="system") + system + fmt["close"])
    for role, text in turns:
        role = fmt["assistant"] if role == "assistant" else "user"
        parts.append(fmt["open"].format(role=role) + text + fmt["close"])
    parts.append(fmt["open"].format(role=fmt["assistant"]))
    return "".join(parts)


@dataclass(frozen=True)
class OutputField:
    """One output field the adapter expects; ``choices`` is set for ``Literal``/``bool`` fields."""

    name: str
    type_text: str
    choices: tuple[str, ...] | None = None


_FIELDS_BLOCK = re.compile(r"Your output fields are:\n(.*?)\nAll interactions will be structured", re.S)
_FIELD_LINE = re.compile(r"^\d+\. `(?P<name>\w+)` \((?P<type>.*?)\):", re.M)


def parse_output_fields(system: str | None) -> list[OutputField] | None:
    """Read the output fields from a ChatAdapter system message; None when it has none."""
    if not system:
        return None
    block = _FIELDS_BLOCK.search(system)
    if block is None:
        return None
    fields = []
    for match in _FIELD_LINE.finditer(block.group(1)):
        type_text = match.group("type")
        fields.append(OutputField(match.group("name"), type_text, _choices(type_text)))
    return fields or None


def _choices(type_text: str) -> tuple[str, ...] | None:
    if type_text == "bool":
        return ("True", "False")
    if type_text.startswith("Literal[") and type_text.endswith("]"):
        try:
            values = ast.literal_eval("[" + type_text[len("Literal[") : -1] + "]")
        except (SyntaxError, ValueError):
            return None
        return tuple(str(value) for value in values)
    return None


def field_header(name: str) -> str:
    return f"[[ ## {name} ## ]]\n"


COMPLETED_MARKER = "[[ ## completed ## ]]"


def decode_fields(
    prompt: str,
    fields: list[OutputField],
    *,
    choose: Callable[[str, tuple[str, ...], int], str],
    generate: Callable[[str], str],
) -> str:
    """The ChatAdapter answer, field by field: headers are written, not generated; ``choose``
    picks a value for fields with choices (given the field's position), ``generate`` writes text."""
    output = ""
    for position, field in enumerate(fields):
        output += field_header(field.name)
        if field.choices:
            value = canonical_label(choose(prompt + output, field.choices, position), field.choices)
        else:
            value = generate(prompt + output)
        output += value.strip() + "\n\n"
    return output + COMPLETED_MARKER


def label_spellings(choice: str) -> tuple[str, ...]:
    """The spellings a model may prefer for one label: as written, lowercase, and with a capital
    first letter ("technical", "Technical"). Instruct models favour their own spelling; decoding
    that admits only one penalises a label for its case, not its meaning."""
    variants = (choice, choice.lower(), choice[:1].upper() + choice[1:], choice[:1].upper() + choice[1:].lower())
    return tuple(dict.fromkeys(v for v in variants if v))


def canonical_label(value: str, choices: Sequence[str]) -> str:
    """``value`` as the label it spells (case and surrounding space ignored), else unchanged."""
    text = value.strip()
    if text in choices:
        return text
    return next((choice for choice in choices if choice.lower() == text.lower()), text)


def choice_grammar(choices: tuple[str, ...]) -> str:
    """A GBNF grammar that admits exactly one of ``choices``, in any of its spellings."""
    spellings = dict.fromkeys(s for choice in choices for s in label_spellings(choice))
    alternatives = " | ".join(_gbnf_string(spelling) for spelling in spellings)
    return f"root ::= {alternatives}\n"


def _gbnf_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


_FIELD_VALUE = re.compile(r"(\[\[ ## \w+ ## \]\]\n)(.*?)(?=\n\n\[\[ ## |\n\nRespond with|\Z)", re.S)


def content_free(user_text: str) -> str:
    """The same ChatAdapter user message with every input value replaced by "N/A"."""
    return _FIELD_VALUE.sub(lambda match: match.group(1) + "N/A", user_text)


def shared_prefix_length(first: Sequence[int], second: Sequence[int]) -> int:
    """How many leading tokens two token sequences share."""
    count = 0
    for a, b in zip(first, second):
        if a != b:
            break
        count += 1
    return count


def prefix_tokens(choices: Sequence[str], tokenize: Callable[[str], list[int]]) -> dict[int, set[int]]:
    """Token id -> indices of the choices it can start: the first token of each spelling of a
    choice (``label_spellings``: as written, lowercase, capitalised; also after a space) and every
    single token that spells a prefix of one — the tokens a grammar over the spellings admits
    first. ``tokenize`` gives a text's ids as answer text (no BOS)."""
    owners: dict[int, set[int]] = {}
    space = tokenize(" ")[:1]
    for index, choice in enumerate(choices):
        starts: set[int] = set()
        for spelling in label_spellings(choice):
            for text in (spelling, " " + spelling):
                first = tokenize(text)[:1]
                if first and first != space:  # a bare space starts every label: it decides nothing
                    starts.add(first[0])
                for end in range(len(text) - len(spelling) + 1, len(text) + 1):
                    ids = tokenize(text[:end])
                    if len(ids) == 1:
                        starts.add(ids[0])
        for token in starts:
            owners.setdefault(token, set()).add(index)
    return owners
