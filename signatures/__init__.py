"""Signatures of the task suite; label fields are typed ``Literal[...]`` so outputs are checked."""

from .contract_nli import CONTRACT_NLI_LABELS, ContractNLILabel, ContractNLISignature
from .logiqa import LOGIQA_ANSWERS, LogiQAAnswer, LogiQASignature
from .policy import (
    BANK_LABELS,
    EXPENSE_LABELS,
    REFUND_LABELS,
    SUPPORT_LABELS,
    BankMessageSignature,
    ExpenseClaimSignature,
    RefundDeskSignature,
    SupportRoutingSignature,
)
from .stereoset import STEREOSET_LABELS, StereoSetLabel, StereoSetSignature

__all__ = [
    "BANK_LABELS",
    "BankMessageSignature",
    "CONTRACT_NLI_LABELS",
    "EXPENSE_LABELS",
    "LOGIQA_ANSWERS",
    "STEREOSET_LABELS",
    "ContractNLILabel",
    "ContractNLISignature",
    "ExpenseClaimSignature",
    "LogiQAAnswer",
    "LogiQASignature",
    "REFUND_LABELS",
    "RefundDeskSignature",
    "SUPPORT_LABELS",
    "SupportRoutingSignature",
    "StereoSetLabel",
    "StereoSetSignature",
]
