"""Rules mined from training labels: their wording, the decision list offered whole, and how a rule of
several lines reaches the student (exact logic, no model)."""

from __future__ import annotations

import dspy

from pld.budget import CallBudget
from pld.pipeline.candidates import synthesize_candidates
from pld.pipeline.mining import decision_list, mine_field_rules
from pld.pipeline.render import render_instructions
from pld.pipeline.teacher import Teacher
from tests.fakes import function_lm

LABELS = ("approve", "reject", "escalate")


def claims() -> list[dspy.Example]:
    """Two overrides over a topic label: Atlas -> approve (first), intern -> reject; approve and reject
    are also topic labels, so neither override owns its label."""
    rows = []
    for index in range(60):
        project = "Atlas" if index % 4 == 0 else "Website"
        employee = "intern" if index % 5 == 1 else "full-time"
        topic = LABELS[index % 3]
        label = "approve" if project == "Atlas" else "reject" if employee == "intern" else topic
        rows.append(dspy.Example(project=project, employee=employee, claim=f"claim {index}", decision=label)
                    .with_inputs("project", "employee", "claim"))
    return rows


def test_mined_rules_are_a_decision_list_and_state_their_scope_when_they_do_not_own_their_label():
    mined = mine_field_rules(claims(), "decision", ["project", "employee"])
    assert [(rule.field, rule.value, rule.label, rule.after) for rule in mined] == [
        ("project", "Atlas", "approve", 0), ("employee", "intern", "reject", 1)]
    assert mined[0].text == ("If the project is Atlas, the answer is approve; for any other project, this rule does "
                             "not apply.")
    assert decision_list(mined) == f"{mined[0].text}\n{mined[1].text}"


def test_the_mined_list_is_offered_whole_beside_its_rules_and_only_where_there_is_room():
    mined = mine_field_rules(claims(), "decision", ["project", "employee"])
    teacher_lm, engine = function_lm(lambda system, user: {"merged_rule": "unused"}, "teacher")

    def offered(max_candidates: int) -> list:
        return synthesize_candidates(Teacher(LABELS), teacher_lm, CallBudget("teacher"), [], mined, task="claims",
                                     labels=LABELS, embedder=None, eps=0.4, min_samples=2,
                                     max_candidates=max_candidates, refused=[])

    first, second = mined[0].text, mined[1].text
    candidates = offered(6)
    assert [(c.source, c.text) for c in candidates] == [("mined", first), ("mined", second),
                                                         ("mined", f"{first}\n{second}")]
    assert [c.text for c in offered(2)] == [first, second]  # one mined slot: no room for the list
    listed = candidates[2]
    assert set(listed.example_keys) == set(mined[0].example_keys) | set(mined[1].example_keys)
    assert listed.evidence.startswith("the 2 mined rules as one decision list, in the order mined: ")
    assert not engine.requests  # mined candidates cost no teacher call


def test_each_line_of_a_rule_is_numbered_as_a_rule_of_its_own():
    text = render_instructions("Decide the claim.", ["A first rule.\nA second rule.", "A third rule."], LABELS)
    assert "1. A first rule.\n2. A second rule.\n3. A third rule." in text
