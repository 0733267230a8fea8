"""House-policy tasks: labels follow a team's written policy, whose overrides the text does not reveal.

The instructions say what is decided and which labels exist, never the policy: that is what PLD
must recover from labelled examples (``pld.programs.policy_data`` generates them).
"""

from __future__ import annotations

from typing import Literal, get_args

import dspy

SupportLabel = Literal["billing", "technical", "priority"]
SUPPORT_LABELS: tuple[str, ...] = get_args(SupportLabel)

RefundLabel = Literal["refund", "credit", "deny"]
REFUND_LABELS: tuple[str, ...] = get_args(RefundLabel)

ExpenseLabel = Literal["approve", "reject", "escalate"]
EXPENSE_LABELS: tuple[str, ...] = get_args(ExpenseLabel)

BankLabel = Literal["cards", "loans", "relationship", "collections"]
BANK_LABELS: tuple[str, ...] = get_args(BankLabel)


class SupportRoutingSignature(dspy.Signature):
    """Route a customer support ticket to the queue that handles it: billing, technical or priority."""

    plan: str = dspy.InputField(desc="the customer's subscription plan")
    channel: str = dspy.InputField(desc="how the ticket reached us")
    message: str = dspy.InputField(desc="the customer's message")
    queue: SupportLabel = dspy.OutputField()


class RefundDeskSignature(dspy.Signature):
    """Decide a customer's return request: refund the money, give store credit, or deny it."""

    membership: str = dspy.InputField(desc="the customer's membership tier")
    payment: str = dspy.InputField(desc="how the order was paid")
    request: str = dspy.InputField(desc="the customer's request")
    decision: RefundLabel = dspy.OutputField()


class ExpenseClaimSignature(dspy.Signature):
    """Decide an employee's expense claim: approve it, reject it, or escalate it to a manager."""

    employee: str = dspy.InputField(desc="the claimant's employment type")
    project: str = dspy.InputField(desc="the project the expense is charged to")
    claim: str = dspy.InputField(desc="what the expense was for")
    decision: ExpenseLabel = dspy.OutputField()


class BankMessageSignature(dspy.Signature):
    """Route a bank customer's message to the desk that handles it: cards, loans, relationship (the customer's
    relationship manager) or collections."""

    tier: str = dspy.InputField(desc="the customer's account tier")
    status: str = dspy.InputField(desc="the status of the customer's account")
    message: str = dspy.InputField(desc="the customer's message")
    desk: BankLabel = dspy.OutputField()
