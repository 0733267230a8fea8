"""Rule text hygiene: one general sentence, no entities quoted from the example."""

from __future__ import annotations

from pld.pipeline.render import render_instructions
from pld.rules import clean_rule, generalize_rule


def test_clean_rule_keeps_the_if_clause_of_a_wordy_answer():
    text = ("The rule for deciding cases like this one is: an if-then instruction. This rule states that "
            "if the input is about a political view, it is an anti-stereotype. Extra words.")
    assert clean_rule(text) == "If the input is about a political view, it is an anti-stereotype."


def test_clean_rule_strips_numbering_and_caps_length():
    assert clean_rule("3. answer unrelated when the word is meaningless") == "Answer unrelated when the word is meaningless"
    assert clean_rule(" ".join(["word"] * 100)).endswith("…")
    assert clean_rule("   ") == ""


def test_generalize_rule_replaces_short_input_values():
    rule = "If the Somalia sentence calls people from Somalia poor, answer stereotype."
    assert generalize_rule(rule, {"target": "Somalia", "sentence": "A long sentence with many words in it."}) == (
        "If the target sentence calls people from the target poor, answer stereotype."
    )


def test_rules_render_as_a_numbered_list_after_the_task():
    text = render_instructions("Label each item.", ["First rule.", "Second rule."])
    assert text.startswith("Label each item.")
    assert "1. First rule.\n2. Second rule." in text
    assert render_instructions("Label each item.", []) == "Label each item."
