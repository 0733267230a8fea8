"""LogiQA: multiple-choice logical reasoning over a short passage."""

from __future__ import annotations

from typing import Literal, get_args

import dspy

LogiQAAnswer = Literal["a", "b", "c", "d"]
LOGIQA_ANSWERS: tuple[str, ...] = get_args(LogiQAAnswer)


class LogiQASignature(dspy.Signature):
    """Read the passage and the question, reason logically, and answer with the letter of the
    single option that is correct (a, b, c or d)."""

    passage: str = dspy.InputField(desc="the passage the question is about")
    question: str = dspy.InputField()
    options: str = dspy.InputField(desc="four options, one per line: A. ... B. ... C. ... D. ...")
    answer: LogiQAAnswer = dspy.OutputField(desc="the letter of the correct option, in lower case")
