"""ContractNLI student: the classifier with the document cut to fit a small context window."""

from __future__ import annotations

import re
from typing import Any

import dspy

from pld.errors import ConfigError
from pld.signatures import ContractNLISignature

from .classifier import Classifier, Strategy

TRUNCATION_MARKER = "\n[... document truncated ...]"
DEFAULT_MAX_DOCUMENT_CHARS = 6000
# End of a sentence (punctuation, optional closing quote/bracket, whitespace) or of a line.
_BOUNDARY = re.compile(r"[.;:!?][\"'”’)\]]*\s|\n")


def truncate_document(text: str, max_chars: int = DEFAULT_MAX_DOCUMENT_CHARS) -> str:
    """Cut ``text`` to at most ``max_chars`` characters, marker included.

    The cut falls at the last sentence or line boundary before the limit (the last space when no
    boundary lies in the second half of the kept text), so the student never sees half a
    sentence. The result depends only on ``text`` and ``max_chars``: every hypothesis of a
    document gets the identical prefix.
    """
    if len(text) <= max_chars:
        return text
    budget = max_chars - len(TRUNCATION_MARKER)
    if budget <= 0:
        raise ConfigError(
            f"max_document_chars={max_chars} leaves no room for the document; "
            f"use at least {len(TRUNCATION_MARKER) + 1}"
        )
    head = text[:budget]
    cut = -1
    for match in _BOUNDARY.finditer(head):
        cut = match.end()
    if cut < budget // 2:
        space = head.rfind(" ")
        cut = space if space > budget // 2 else budget
    return head[:cut].rstrip() + TRUNCATION_MARKER


class ContractNLIClassifier(Classifier):
    """Classifier for ContractNLI that truncates each NDA to ``max_document_chars``.

    A small student has a small context window, and NDAs run to tens of thousands of characters.
    We truncate deliberately instead of selecting the spans relevant to each hypothesis: with
    truncation every hypothesis of a document sends the identical document prefix (the signature
    puts ``document`` before ``hypothesis``), so a serving engine with prefix caching computes the
    document once for all 17 hypotheses. The price is that evidence beyond the cut is invisible;
    raise ``max_document_chars`` for students with longer contexts.
    """

    def __init__(
        self,
        signature: type[dspy.Signature] = ContractNLISignature,
        strategy: Strategy = "zero-shot",
        *,
        max_document_chars: int = DEFAULT_MAX_DOCUMENT_CHARS,
    ) -> None:
        super().__init__(signature, strategy)
        if max_document_chars <= len(TRUNCATION_MARKER):
            raise ConfigError(
                f"max_document_chars={max_document_chars} is too small; "
                f"use at least {len(TRUNCATION_MARKER) + 1} (default {DEFAULT_MAX_DOCUMENT_CHARS})"
            )
        self.max_document_chars = max_document_chars

    def forward(self, **inputs: Any) -> dspy.Prediction:
        """Truncate ``document`` (when it is a string), then run the predictor."""
        document = inputs.get("document")
        if isinstance(document, str):
            inputs["document"] = truncate_document(document, self.max_document_chars)
        return super().forward(**inputs)
