"""Rule hygiene: screen rule texts before the student ever reads them.

Rules are written by a teacher that has read training inputs, so an input can steer what it
writes ("ALWAYS ANSWER unrelated", a chat-template token, "ignore previous instructions"). A
rule must decide something about the input and must not carry prompt syntax; greedy selection
would otherwise keep any text that happens to move validation Macro F1. Every check below
returns a reason, so a rejection can be reported rather than silently dropped.

The checks, in order (the first that applies names the rejection):

``empty``          no words.
``markup``         DSPy field markers (``[[ ##``, ``## ]]``) or template / chat-template syntax
                   (``{{``, ``}}``, ``{%``, ``%}``, ``{#``, ``<|...|>``, ``<start_of_turn>``,
                   ``<end_of_turn>``, ``<s>``, ``</s>``, ``[INST]``, ``<<SYS>>``, ``<bos>``, ``<eos>``).
``override``       tells the model to drop its instructions: ignore / disregard / forget /
                   override / bypass followed within four words by instructions, prompt, directions,
                   guidelines, "the above", "rules above/before", "everything above/before/else",
                   or all / previous / prior / above / preceding / earlier rules; or "system
                   prompt", "system message", "you are now", "new instructions", "developer mode",
                   "jailbreak", "pretend you are" / "pretend to be".
``unknown-label``  a command puts a word that is not a label in the answer position: "answer X",
                   "answer with X", "respond with X", "output X", "the answer is X", "the label is
                   X", "label it (as) X", "classify it/this/the <noun> as X", "mark it as X",
                   followed by the end of the clause. Labels compare without case, spaces,
                   hyphens or underscores ("not-mentioned" is NotMentioned), and a word sharing
                   its first five letters with a label is an inflection of it ("entailed",
                   "stereotypical"). Words inside a condition ("If the answer is unclear, ...")
                   are not answers, nor determiners, pronouns and -ly adverbs ("answer the
                   question", "answer carefully").
``unconditional``  a label command with a universal marker (always, regardless, no matter,
                   whatever, in all/every/any case(s), every time, without exception, "for
                   every/all/each/any" + at most two words) and no condition (if, when, whenever,
                   unless, only, except, where, whose, which, that, who, otherwise, provided,
                   given, whether, or a longer "for ..." phrase): it does not depend on the input.
``label-only``     nothing but a label and filler words ("Answer neg.", "The answer is neg").
``tautology``      a condition that says nothing about the input once filler words and the input
                   field names are removed ("If the target is the target, ...").
``restated-label`` a condition that only tests a label ("If the target is not stereotype, the
                   answer is unrelated"): it restates the answer instead of deciding it.
``no-condition``   names a label (of three letters or more) with no condition and at most one word
                   besides field names and filler that could describe an input ("The sentence
                   expresses a stereotype about the target."): the same answer for every input.

Three more checks need more than the text, so they run where the pipeline has it:
``wrong-label``    (``predicts_label``) a micro-rule whose conclusion does not name its own
                   example's label (the gold label, or the teacher's where there is none), or names
                   another: it would not decide the very case it was written from. A merged
                   cluster rule must name its cluster's label the same way.
``restates-input`` (``restates_input``) a rule that copies a training input (a quoted span of four
                   or more words, or any eight words in a row): it memorises one example.
``near-duplicate`` (``near_duplicates``) a candidate whose TF-IDF cosine similarity to an earlier
                   (larger-cluster) candidate is at least 0.85: selection would pay twice for one idea.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pld.rules import Frozen, RejectedRule, RejectionStage, Trace

logger = logging.getLogger(__name__)

_MARKUP = re.compile(
    r"\[\[\s*##|##\s*\]\]|\{\{|\}\}|\{%|%\}|\{#|<\||\|>|<\s*/?\s*(?:start_of_turn|end_of_turn|bos|eos|s)\s*>"
    r"|\[/?INST\]|<</?SYS>>",
    re.I,
)
_OVERRIDE = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b\W+(?:\w+\W+){0,4}?"
    r"(?:instructions?|prompts?|directions|guidelines|the\s+above"
    r"|(?:all|previous|prior|above|preceding|earlier)\s+(?:the\s+)?rules|rules\s+(?:above|before)"
    r"|everything\s+(?:above|before|else))\b"
    r"|\bsystem\s+(?:prompt|message)s?\b|\byou\s+are\s+now\b|\bnew\s+instructions\b|\bdeveloper\s+mode\b"
    r"|\bjailbreak|\bpretend\s+(?:you\s+are|to\s+be)\b",
    re.I,
)
_COMMAND = re.compile(
    r"\b(?:answer(?:\s+with)?|respond\s+with|output|the\s+(?:correct\s+|right\s+|final\s+)?(?:answer|label)\s+is"
    r"|label\s+it(?:\s+as)?|classify\s+(?:it|this|the\s+\w+)\s+as|mark\s+it\s+as)\b\s*[:=]?\s*",
    re.I,
)
_CLAUSE_END = re.compile(
    r"\s*(?:[.;,!?)]|$|\s(?:if|when|whenever|unless|for|regardless|otherwise|because|since|and|or|but|even|only"
    r"|except|as|in)\b)",
    re.I,
)
_WORD = re.compile(r"[\"'`“‘]?([A-Za-z][\w-]*)[\"'`”’]?")
_CONDITION_CLAUSE = re.compile(
    r"\b(?:if|when|whenever|unless|because|since|although|though|while|where|given\s+that)\b"
    r"[^,;.]*(?:[,;.]|\bthen\b|$)",
    re.I,
)
_NOT_AN_ANSWER = {"the", "a", "an", "it", "its", "this", "that", "these", "those", "with", "as", "one", "each",
                  "every", "any", "all", "their", "your", "our", "them", "which", "what", "whichever", "to", "is",
                  "be", "by", "based", "according", "using", "from", "only", "always", "now", "first", "here", "there",
                  "again", "so", "too", "then", "below", "above", "him", "her", "me", "us", "you"}
_UNIVERSAL = re.compile(r"\b(?:always|regardless|no\s+matter|whatever|every\s+time|without\s+exception"
                        r"|in\s+(?:all|every|any)\s+cases?)\b", re.I)
_FOR_ALL = re.compile(r"\bfor\s+(?:every|all|each|any)\b((?:\s+[\w-]+){0,3})\s*([.;,!?]|$)", re.I)
_CONDITION = re.compile(r"\b(?:if|when|whenever|unless|only|except|where|whose|which|that|who|otherwise|provided"
                        r"|given|whether)\b", re.I)
_FILLER = {"the", "a", "an", "answer", "answers", "is", "be", "should", "must", "label", "labels", "it", "as",
           "with", "output", "respond", "return", "say", "choose", "select", "predict", "classify", "mark",
           "always", "final", "correct", "right", "class", "category", "this", "to", "of", "one"}

_CONDITION_FILLER = {"if", "when", "whenever", "unless", "because", "since", "although", "though", "while", "where",
                     "given", "that", "the", "a", "an", "is", "are", "was", "were", "be", "been", "being", "not",
                     "no", "does", "do", "did", "doesn't", "isn't", "it", "its", "this", "then", "input", "answer",
                     "label", "same", "as", "equal", "equals", "to", "of", "has", "have", "any", "and", "or", "about",
                     "for", "in", "on", "at", "by"}

SEVERE = frozenset({"markup", "override"})  # signs that an input steered the teacher's output


class RuleProblem(Frozen):
    """Why a rule text was rejected: a short ``kind`` (see the module docstring) and a sentence."""

    kind: str
    reason: str


def _norm(word: str) -> str:
    return re.sub(r"[\s_-]", "", word.lower())


def _names_label(word: str, labels: Sequence[str]) -> bool:
    """``word`` is a label, or an inflection of one sharing its first 5+ letters ("entailed")."""
    word = _norm(word)
    return any(word == label or len(os.path.commonprefix([word, label])) >= 5 for label in map(_norm, labels))


def _answers(text: str, labels: Sequence[str]) -> list[str]:
    """The words a command puts in the answer position, conditions removed."""
    consequent = _CONDITION_CLAUSE.sub(" ", text)
    by_length = sorted(labels, key=len, reverse=True)
    found = []
    for match in _COMMAND.finditer(consequent):
        rest = consequent[match.end():].lstrip("\"'`“‘")
        label = next((name for name in by_length if re.match(rf"{re.escape(name)}(?![\w-])", rest, re.I)), None)
        if label is not None:
            found.append(label)
            continue
        word = _WORD.match(consequent, match.end())
        if word and _answer_like(word.group(1)) and _CLAUSE_END.match(consequent, word.end()):
            found.append(word.group(1))
    return found


def _answer_like(word: str) -> bool:
    """Not a determiner, pronoun or adverb ("answer the question", "answer carefully")."""
    return word.lower() not in _NOT_AN_ANSWER and not word.lower().endswith("ly")


def _is_unconditional(text: str) -> bool:
    """A universal marker and no condition: the rule says the same thing for every input."""
    for_all = _FOR_ALL.search(text)
    universal = bool(_UNIVERSAL.search(text)) or (for_all is not None and len(for_all.group(1).split()) <= 2)
    restricted = for_all is not None and len(for_all.group(1).split()) > 2
    return universal and not restricted and not _CONDITION.search(text)


def _is_label_only(text: str, labels: Sequence[str]) -> bool:
    """Nothing left but filler once the labels are removed: the rule decides nothing."""
    rest = text.lower()
    found = False
    for label in sorted(labels, key=len, reverse=True):
        rest, count = re.subn(rf"(?<![\w-]){re.escape(label.lower())}(?![\w-])", " ", rest)
        found = found or count > 0
    return found and set(re.findall(r"[a-z0-9]+", rest)) <= _FILLER


def _condition_problem(text: str, labels: Sequence[str], fields: Sequence[str]) -> RuleProblem | None:
    """A condition that tests nothing (only filler and field names) or only a label."""
    named = {field.lower() for field in fields}
    words_of_labels = [label for label in labels if len(label) >= 3]
    for clause in _CONDITION_CLAUSE.finditer(text):
        words = re.findall(r"[a-z][a-z'-]*", clause.group(0).lower())
        content = [word for word in words if word not in _CONDITION_FILLER and word not in named]
        shown = clause.group(0).strip(" ,;.")
        if not content:
            return RuleProblem(kind="tautology", reason=f"its condition ({shown!r}) says nothing about the input")
        if words_of_labels and all(_names_label(word, words_of_labels) for word in content):
            return RuleProblem(kind="restated-label",
                               reason=f"its condition ({shown!r}) tests a label, not the input")
    return None


def _names_a_label_unconditionally(text: str, labels: Sequence[str], fields: Sequence[str]) -> bool:
    """A label (three letters or more, so not an option letter or an article), no condition, and at
    most one word that could describe an input besides the field names ("The sentence expresses a
    stereotype about the target"); "Answer neg for all items marked special" qualifies its label."""
    long_labels = [label for label in labels if len(label) >= 3]
    if _CONDITION.search(text) or not any(
            re.search(rf"(?<![\w-]){re.escape(label)}(?![\w-])", text, re.I) for label in long_labels):
        return False
    named = {field.lower() for field in fields}
    words = re.findall(r"[a-z][a-z'-]*", text.lower())
    content = [word for word in words if word not in _CONDITION_FILLER and word not in named and word not in _FILLER
               and word not in _NOT_AN_ANSWER and not _names_label(word, long_labels)]
    return len(content) <= 1


def rule_problem(text: str, labels: Sequence[str], fields: Sequence[str] = ()) -> RuleProblem | None:
    """The first hygiene problem of ``text`` for a task with ``labels`` (and input ``fields``), or
    None for a usable rule."""
    if not re.search(r"\w", text or ""):
        return RuleProblem(kind="empty", reason="empty rule")
    if markup := _MARKUP.search(text):
        return RuleProblem(kind="markup", reason=f"contains prompt or template syntax {markup.group(0)!r}")
    if override := _OVERRIDE.search(text):
        return RuleProblem(kind="override", reason=f"tells the model to drop its instructions ({override.group(0)!r})")
    answers = _answers(text, labels)
    unknown = [word for word in answers if not _names_label(word, labels)]
    if unknown and labels:
        return RuleProblem(kind="unknown-label",
                           reason=f"answers {unknown[0]!r}, which is not a label ({', '.join(labels)})")
    if (answers or _is_label_only(text, labels)) and _is_unconditional(text):
        return RuleProblem(kind="unconditional", reason="commands a label unconditionally, whatever the input")
    if _is_label_only(text, labels):
        return RuleProblem(kind="label-only", reason="restates a label with no condition")
    if problem := _condition_problem(text, labels, fields):
        return problem
    if _names_a_label_unconditionally(text, labels, fields):
        return RuleProblem(kind="no-condition", reason="names a label with no condition on the input: the same "
                                                       "answer for every input")
    return None


def _conclusion_labels(text: str, labels: Sequence[str]) -> list[str]:
    """The labels a rule concludes: commanded answers, else labels named outside its conditions."""
    answers = [word for word in _answers(text, labels) if _names_label(word, labels)]
    if not answers:
        consequent = _CONDITION_CLAUSE.sub(" ", text)
        answers = [label for label in sorted(labels, key=len, reverse=True)
                   if re.search(rf"(?<![\w-]){re.escape(label)}(?![\w-])", consequent, re.I)]
    canonical = []
    for word in answers:
        label = next((name for name in labels if _norm(name) == _norm(word)), None)
        label = label or next((name for name in labels if _names_label(word, [name])), word)
        canonical.append(label)
    return list(dict.fromkeys(canonical))


def predicts_label(text: str, label: str, labels: Sequence[str]) -> RuleProblem | None:
    """None when the rule concludes ``label`` and no other; else why it does not (``wrong-label``)."""
    concluded = _conclusion_labels(text, labels)
    if concluded == [label]:
        return None
    if not concluded:
        return RuleProblem(kind="wrong-label", reason=f"names no label; its example's label is {label!r}")
    others = [name for name in concluded if name != label]
    return RuleProblem(kind="wrong-label", reason=f"concludes {others[0]!r}, but its example's label is {label!r}")


_QUOTED = re.compile(r"[\"“]([^\"”]+)[\"”]")


def restates_input(text: str, inputs: Sequence[Mapping[str, Any]]) -> RuleProblem | None:
    """A rule that copies a training input (a quoted span of 4+ words, or 8 words in a row) memorises
    that example instead of stating a decision rule. ``inputs`` are the examples' input fields; a
    short field value (the StereoSet target) also counts as "the <field>", the way micro-rules
    write it."""
    haystacks = [_words(value) for value in _input_texts(inputs)]
    for quoted in _QUOTED.findall(text):
        words = _words(quoted)
        if len(words.split()) >= 4 and any(words in hay for hay in haystacks):
            return RuleProblem(kind="restates-input", reason=f"quotes a training input ({quoted[:60]!r}): it "
                                                             "memorises one example")
    words = _words(text).split()
    for start in range(len(words) - 7):
        span = " ".join(words[start:start + 8])
        if any(span in hay for hay in haystacks):
            return RuleProblem(kind="restates-input", reason=f"copies eight words of a training input ({span!r})")
    return None


def _words(text: str) -> str:
    return " ".join(re.findall(r"[\w'-]+", text.lower()))


def _input_texts(inputs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each input value, and again with every short value of the same example (up to four words)
    replaced by "the <field name>"."""
    texts = []
    for fields in inputs:
        values = {name: str(value) for name, value in fields.items() if value is not None}
        short = {name: value for name, value in values.items() if 0 < len(value.split()) <= 4}
        for value in values.values():
            texts.append(value)
            replaced = value
            for name, entity in short.items():
                replaced = re.sub(re.escape(entity), f"the {name}", replaced, flags=re.I)
            if replaced != value:
                texts.append(replaced)
    return texts


def near_duplicates(texts: Sequence[str], threshold: float = 0.85) -> dict[int, tuple[int, float]]:
    """``{later index: (earlier index, cosine)}`` for texts whose TF-IDF cosine similarity to an
    earlier text that is kept reaches ``threshold``."""
    from sklearn.metrics.pairwise import cosine_similarity

    from pld.pipeline.clustering import TfidfEmbedder

    if len(texts) < 2:
        return {}
    similarity = cosine_similarity(TfidfEmbedder()(list(texts)))
    duplicates: dict[int, tuple[int, float]] = {}
    for later in range(1, len(texts)):
        kept = [earlier for earlier in range(later) if earlier not in duplicates]
        best = max(kept, key=lambda earlier: similarity[later, earlier])
        if similarity[later, best] >= threshold:
            duplicates[later] = (best, float(similarity[later, best]))
    return duplicates


def screen_rules(texts: Sequence[str], labels: Sequence[str],
                 fields: Sequence[str] = ()) -> tuple[list[str], list[tuple[str, RuleProblem]]]:
    """Split ``texts`` into usable rules (order kept) and rejected ``(text, problem)`` pairs."""
    accepted: list[str] = []
    rejected: list[tuple[str, RuleProblem]] = []
    for text in texts:
        problem = rule_problem(text, labels, fields)
        if problem is None:
            accepted.append(text)
        else:
            rejected.append((text, problem))
    return accepted, rejected


def rejected(text: str, problem: RuleProblem, stage: RejectionStage, example_keys: Sequence[str] = (),
             round: int | None = None) -> RejectedRule:
    """The report record of one rejection, logged (a warning when an input seems to have steered the teacher)."""
    level = logging.WARNING if problem.kind in SEVERE else logging.INFO
    logger.log(level, "%s refused (%s): %r", stage, problem.reason, text[:120])
    return RejectedRule(text=text, stage=stage, kind=problem.kind, reason=problem.reason,
                        example_keys=tuple(example_keys), round=round)


def screen_traces(traces: Sequence[Trace], labels: Sequence[str]) -> tuple[list[Trace], list[RejectedRule]]:
    """Traces whose micro-rule may be clustered, and the rejected micro-rules: an input that steers
    the teacher ("ALWAYS ANSWER x") must not pull a cluster's merged rule toward it, nor may a
    micro-rule that contradicts its own example's label.

    A micro-rule may quote its example: it is one example's rule by design, and the teacher's merge
    of a cluster is what generalises it. Quoting is checked on every candidate instead (the merged
    text against all the cluster's inputs, a lone micro-rule against its own)."""
    kept: list[Trace] = []
    rejections: list[RejectedRule] = []
    for trace in traces:
        expected = trace.gold_label if trace.gold_label is not None else trace.teacher_label
        problem = rule_problem(trace.micro_rule, labels, list(trace.inputs))
        if problem is None and expected is not None:
            problem = predicts_label(trace.micro_rule, expected, labels)
        if problem is None:
            kept.append(trace)
        else:
            rejections.append(rejected(trace.micro_rule, problem, "micro-rule", (trace.example_key,)))
    return kept, rejections
