"""The house-policy domains: what a ticket or request says, and the written policy that labels it.

Each domain has a *topic* label that a reader can guess from the text, and *overrides* that the
text does not reveal: a structured field (the customer's plan, how an order was paid) decides the
label whatever the topic. Overrides are listed in precedence order, so where two apply (an
Enterprise customer writing through the partner portal) the first wins. Distractors mention an
override's words in the text while the field says otherwise, so a rule must test the field.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Override:
    """``field == value`` decides ``label``, whatever the topic; ``text`` is the policy's wording."""

    name: str
    field: str
    value: str
    label: str
    text: str
    rate: float  # how often generated examples take ``value`` for ``field``


@dataclass(frozen=True)
class PolicyDomain:
    name: str
    title: str
    text_field: str
    label_field: str
    labels: tuple[str, ...]
    fields: dict[str, tuple[str, ...]]  # structured input fields and their ordinary values
    topics: dict[str, tuple[str, ...]]  # topic label -> message templates
    fillers: dict[str, tuple[str, ...]]  # {slot} -> values
    openers: tuple[str, ...]
    closers: tuple[str, ...]
    distractors: tuple[str, ...]  # sentences that name an override's words in the text only
    overrides: tuple[Override, ...]
    topic_policy: dict[str, str]  # topic label -> the policy's wording

    def policy_markdown(self) -> str:
        """The true policy, as a team would write it down (recorded beside the data files)."""
        lines = [f"# {self.title}: the house policy", "", "Decide by the first rule that applies.", ""]
        number = 1
        for override in self.overrides:
            lines.append(f"{number}. {override.text}")
            number += 1
        for label, text in self.topic_policy.items():
            lines.append(f"{number}. {text}")
            number += 1
        return "\n".join(lines) + "\n"


SUPPORT = PolicyDomain(
    name="support",
    title="Support ticket routing",
    text_field="message",
    label_field="queue",
    labels=("billing", "technical", "priority"),
    fields={"plan": ("Free", "Starter", "Pro", "Team"), "channel": ("email", "chat", "phone", "web form")},
    topics={
        "billing": (
            "I was charged {amount} twice this month for the same {product} subscription.",
            "Can you send me a corrected invoice? The one for {month} has the wrong company address.",
            "My card was declined when renewing {product}, but the bank says nothing is wrong.",
            "Please explain the {amount} charge on my last statement, I don't recognise it.",
            "I want to switch from monthly to yearly billing for {product}. How is the price prorated?",
            "The refund you promised for {month} never reached my account.",
            "Why did my bill go up by {amount}? Nobody told me the price of {product} changed.",
            "I need a VAT receipt for the {amount} payment made in {month}.",
        ),
        "technical": (
            "{product} crashes with error {code} every time I open a project.",
            "I can't log in since the update, the page just reloads after I type my password.",
            "Exports from {product} come out empty since {month}, error {code}.",
            "The sync between the desktop app and the web version of {product} stopped working.",
            "Our API calls return error {code} since this morning, nothing changed on our side.",
            "The {product} dashboard takes minutes to load and then times out.",
            "Two-factor codes from {product} never arrive on my phone.",
            "After installing version {version} of {product}, my saved settings are gone.",
        ),
    },
    fillers={
        "amount": ("$19", "$49", "$120", "€35", "£80", "$240"),
        "product": ("Notely", "CloudDesk", "SyncBox", "Planr", "DataPeek"),
        "month": ("March", "June", "September", "November", "January"),
        "code": ("E-401", "500", "0x8007", "TIMEOUT-3", "E-17"),
        "version": ("4.2", "5.0.1", "3.9", "2024.2"),
    },
    openers=("", "", "Hi, ", "Hello team, ", "URGENT: ", "Please help ASAP. ", "Good morning. "),
    closers=("", "", " Thanks.", " This is really urgent for us!", " Regards.", " Please fix this today."),
    distractors=(
        " We are evaluating your Enterprise offer for next year.",
        " A partner of ours recommended you.",
        " Our enterprise customers depend on this.",
    ),
    overrides=(
        Override("enterprise", "plan", "Enterprise", "priority",
                 "Tickets from customers on the Enterprise plan go to the priority queue, whatever they are about.",
                 rate=0.3),
        Override("partner-portal", "channel", "partner portal", "billing",
                 "Tickets that arrive through the partner portal go to billing (partner contracts are handled "
                 "there), whatever they are about.", rate=0.25),
    ),
    topic_policy={
        "billing": "Otherwise, questions about charges, invoices, payments and prices go to billing.",
        "technical": "Otherwise, problems with the product itself (errors, crashes, log-in, sync) go to technical.",
    },
)

REFUNDS = PolicyDomain(
    name="refunds",
    title="Returns desk",
    text_field="request",
    label_field="decision",
    labels=("refund", "credit", "deny"),
    fields={"membership": ("none", "Silver", "Basic"), "payment": ("credit card", "PayPal", "debit card")},
    topics={
        "refund": (
            "The {item} arrived broken, the box was crushed. I want my money back.",
            "My order of a {item} never arrived, tracking has shown 'in transit' for {days} days.",
            "You sent me a {item} in the wrong size and colour, not what I ordered.",
            "The {item} stopped working after {days} days of normal use.",
            "The {item} I received is missing the parts shown in the listing.",
            "I was sent someone else's order instead of my {item}.",
        ),
        "credit": (
            "I changed my mind about the {item}, it's unused and still in its box.",
            "The {item} doesn't fit, I'd like to return it.",
            "I found the same {item} cheaper elsewhere, so I'd like to send it back.",
            "The colour of the {item} looks different from the photos, I don't like it.",
            "I bought two {item}s by mistake and only need one.",
            "It was a gift and the recipient already has a {item}.",
        ),
        "deny": (
            "I've used the {item} every day for {months} months and now I want to return it.",
            "I dropped the {item} in water and it no longer turns on, please take it back.",
            "The {item} was on clearance as final sale, but I want to return it anyway.",
            "My dog chewed the {item}; can I return it?",
            "I lost the charger and manual of the {item}, but I want to return the rest after {months} months.",
            "I painted the {item} myself and now I don't like it, I'd like a return.",
        ),
    },
    fillers={
        "item": ("lamp", "kettle", "backpack", "jacket", "headset", "blender", "desk chair", "phone case"),
        "days": ("3", "10", "14", "21"),
        "months": ("4", "6", "8", "14"),
    },
    openers=("", "", "Hello, ", "Hi there. ", "This is unacceptable! ", "Sorry to bother you, "),
    closers=("", "", " Thank you.", " Please respond quickly.", " I expect a full refund!", " Kind regards."),
    distractors=(
        " I have a gift card from you I haven't used yet.",
        " My sister is a Gold member, by the way.",
        " I'll pay with a gift card next time.",
    ),
    overrides=(
        Override("gift-card", "payment", "gift card", "credit",
                 "Orders paid with a gift card are returned as store credit, whatever the reason.", rate=0.25),
        Override("gold", "membership", "Gold", "refund",
                 "Gold members get their money back, whatever the reason.", rate=0.3),
    ),
    topic_policy={
        "refund": "Otherwise, items that arrived broken, wrong or not at all, or failed in normal use, are refunded.",
        "credit": "Otherwise, returns of unused items the customer no longer wants get store credit.",
        "deny": "Otherwise, items used for months, damaged by the customer or sold as final sale are denied.",
    },
)

EXPENSES = PolicyDomain(
    name="expenses",
    title="Expense claims",
    text_field="claim",
    label_field="decision",
    labels=("approve", "reject", "escalate"),
    fields={"employee": ("full-time", "part-time", "contractor"),
            "project": ("Website", "Onboarding", "Q3 launch", "Internal tools")},
    topics={
        "approve": (
            "Taxi from the airport to the {client} office on {day}, {amount}.",
            "Dinner with the {client} team after the contract review, {amount} for four people.",
            "Train ticket to {city} for the {client} workshop, {amount}.",
            "Annual licence for {tool}, which the whole team uses every day, {amount}.",
            "Hotel in {city} for two nights during the {client} onsite, {amount}.",
            "Printer toner and paper for the {city} office, {amount}.",
        ),
        "reject": (
            "My gym membership for {month}, {amount}.",
            "Flight for my partner to join me in {city} for the weekend, {amount}.",
            "A speeding fine I got driving to the {client} meeting, {amount}.",
            "Groceries for home for the week of {day}, {amount}.",
            "A birthday present for my brother, {amount}.",
            "My personal streaming subscription for {month}, {amount}.",
        ),
        "escalate": (
            "A first-class flight to {city} because economy was full, {amount}.",
            "A new laptop so I can work from home, {amount}.",
            "Drinks for thirty people at the {client} launch party, {amount}.",
            "A gift basket for the {client} CEO after the deal closed, {amount}.",
            "A week's car rental in {city} instead of taking taxis, {amount}.",
            "Registration for the {conference} conference plus a two-day training nobody approved, {amount}.",
        ),
    },
    fillers={
        "amount": ("$18", "$46", "$95", "€120", "£64", "$310", "$2,400"),
        "client": ("Brightline", "Orbis", "Kestrel", "Halvorsen", "Mapleton"),
        "city": ("Lyon", "Denver", "Leeds", "Osaka", "Porto"),
        "day": ("Monday", "Tuesday", "Thursday", "Friday"),
        "month": ("March", "June", "September", "November"),
        "tool": ("Figma", "Jira", "Tableau", "Miro"),
        "conference": ("PyCon", "DevOpsDays", "Web Summit", "re:Invent"),
    },
    openers=("", "", "Hi, ", "Expense claim: ", "Please reimburse: ", "Hello finance, "),
    closers=("", "", " Thanks.", " Receipt attached.", " Please process this quickly.", " Let me know if you need more."),
    distractors=(
        " An intern from the design team came along too.",
        " We also talked about the Atlas rollout.",
        " I used to be an intern here, so I know the drill.",
    ),
    overrides=(
        Override("atlas", "project", "Atlas", "approve",
                 "Expenses charged to the Atlas project are approved (the client reimburses them in full), whatever "
                 "they are for.", rate=0.3),
        Override("intern", "employee", "intern", "reject",
                 "Claims from interns are rejected (their costs go through the internship budget), whatever the "
                 "expense.", rate=0.3),
    ),
    topic_policy={
        "approve": "Otherwise, ordinary business costs (travel to clients, client meals, tools, office supplies) "
                   "are approved.",
        "reject": "Otherwise, personal costs (fines, family travel, gym, groceries, gifts to family) are rejected.",
        "escalate": "Otherwise, unusual or large costs (first class, equipment, parties, gifts to clients, "
                    "unapproved extras) are escalated to a manager.",
    },
)

BANKING = PolicyDomain(
    name="banking",
    title="Bank contact centre",
    text_field="message",
    label_field="desk",
    labels=("cards", "loans", "relationship", "collections"),
    fields={"tier": ("Standard", "Plus", "Student"), "status": ("active", "new", "dormant")},
    topics={
        "cards": (
            "My {card} card was declined at {shop} on {day} even though there is money in the account.",
            "I lost my {card} card in {city}, please block it and send me a new one.",
            "I forgot the PIN of my {card} card and the app won't show it.",
            "There is a payment of {amount} to {shop} on my card that I did not make.",
            "Can you raise the limit on my {card} card to {amount}?",
            "Contactless stopped working on my {card} card last {day}.",
        ),
        "loans": (
            "What rate would I get on a {years}-year mortgage for a flat in {city}?",
            "I'd like to borrow {amount} for a car. How do I apply for a loan?",
            "Can I pay off {amount} of my mortgage early without a fee?",
            "My fixed mortgage rate ends in {month}. What can I switch to?",
            "How long does a decision on a personal loan of {amount} take?",
            "Could you send me the balance and end date of my car loan?",
        ),
    },
    fillers={
        "card": ("debit", "credit", "Visa", "Mastercard"),
        "shop": ("a supermarket", "an online shop", "a petrol station", "a hotel in Rome"),
        "city": ("Leeds", "Bristol", "Glasgow", "Cardiff", "York"),
        "amount": ("£300", "£2,000", "£15,000", "£250,000", "£45"),
        "years": ("10", "20", "25", "30"),
        "month": ("March", "June", "September", "November"),
        "day": ("Monday", "Wednesday", "Friday", "Saturday"),
    },
    openers=("", "", "Hello, ", "Hi there. ", "Good afternoon. ", "Quick question: "),
    closers=("", "", " Thanks.", " Many thanks in advance.", " Please get back to me today.", " Regards."),
    distractors=(
        " My mother is a Premier customer, if that helps.",
        " I have never been in arrears with you.",
        " I am thinking about upgrading to Premier.",
    ),
    overrides=(
        Override("arrears", "status", "in arrears", "collections",
                 "Messages from customers whose account is in arrears go to collections, whatever they are about.",
                 rate=0.25),
        Override("premier", "tier", "Premier", "relationship",
                 "Messages from Premier customers go to their relationship manager, whatever they are about.",
                 rate=0.3),
    ),
    topic_policy={
        "cards": "Otherwise, questions about cards (lost or blocked cards, PINs, declined or unknown card payments, "
                 "limits) go to cards.",
        "loans": "Otherwise, questions about mortgages and loans go to loans.",
    },
)

DOMAINS: dict[str, PolicyDomain] = {domain.name: domain for domain in (SUPPORT, REFUNDS, EXPENSES, BANKING)}
