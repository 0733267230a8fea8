"""ContractNLI: does a non-disclosure agreement entail, contradict or not mention a hypothesis?"""

from __future__ import annotations

from typing import Literal, get_args

import dspy

ContractNLILabel = Literal["Entailment", "Contradiction", "NotMentioned"]
CONTRACT_NLI_LABELS: tuple[str, ...] = get_args(ContractNLILabel)


class ContractNLISignature(dspy.Signature):
    """Read the non-disclosure agreement and decide whether it entails the hypothesis
    (Entailment), contradicts it (Contradiction), or says nothing that decides it (NotMentioned)."""

    # The document comes first so that all hypotheses of one document share the prompt prefix.
    document: str = dspy.InputField(desc="the text of a non-disclosure agreement (NDA)")
    hypothesis: str = dspy.InputField(desc="a statement about the agreement's obligations")
    label: ContractNLILabel = dspy.OutputField()
