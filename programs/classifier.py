"""The student program: one predictor over a task signature, whose instructions PLD rewrites."""

from __future__ import annotations

from typing import Any, Literal, get_args

import dspy

from pld.errors import ConfigError

Strategy = Literal["zero-shot", "cot"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)


class Classifier(dspy.Module):
    """A single-predictor classifier.

    PLD distils rules into the instructions of ``self.predict`` and the student then answers
    zero-shot, so the default strategy is ``"zero-shot"`` (``dspy.Predict``); ``"cot"``
    (``dspy.ChainOfThought``) is the baseline that pays for reasoning tokens at run time.
    """

    def __init__(self, signature: type[dspy.Signature], strategy: Strategy = "zero-shot") -> None:
        super().__init__()
        if strategy not in STRATEGIES:
            raise ConfigError(
                f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}"
            )
        self.strategy: Strategy = strategy
        self.predict: dspy.Module = (
            dspy.Predict(signature) if strategy == "zero-shot" else dspy.ChainOfThought(signature)
        )

    def forward(self, **inputs: Any) -> dspy.Prediction:
        """Run the predictor on the signature's input fields."""
        return self.predict(**inputs)
