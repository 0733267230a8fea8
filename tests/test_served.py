"""OpenAI-compatible servers: exact label scoring, the system text in the prompt, token caps that
stop generations. Model tests run a real llama.cpp server on loopback with the embedded student's
Gemma weights."""

from __future__ import annotations

import contextlib
from typing import Literal

import dspy
import pytest

from pld.evaluate import student_adapter
from pld.backends.lm import make_lm
from pld.backends.options import LMOptions
from pld.backends.decoding import render_chat
from pld.backends.served_labels import ScoringFallback, score_labels
from pld.tasks import get_task


def _probe(table: dict[str, dict[str, float]], counts: dict[str, int] | None = None):
    calls: list[str] = []

    def probe(text: str) -> tuple[dict[str, float], int]:
        calls.append(text)
        return table[text], (counts or {}).get(text, len(text))  # one "token" per character here

    return probe, calls


def test_score_labels_sums_each_labels_own_tokens():
    # "a" is the likeliest first token, but "anti-stereotype" continues badly: the sum decides.
    table = {"P": {"a": -0.1, "st": -1.0, "un": -3.0, "x": -4.0}, "Pa": {"nti": -0.2, "x": -0.1, "y": -5.0},
             "Panti": {"-": -6.0, "y": -0.1, "z": -7.0}, "Pst": {"ereotype": -0.05, "q": -4.0}}
    probe, calls = _probe(table, {"P": 1, "Pa": 2, "Panti": 3, "Pst": 2})
    pieces = [("st", "ereotype"), ("a", "nti", "-", "stereotype"), ("un", "related")]
    assert score_labels("P", pieces, probe) == 0
    assert "Pun" not in calls  # "unrelated" (-3.0) was beaten without scoring its second token


def test_score_labels_never_guesses_from_an_unlisted_token():
    table = {"P": {"[[": -0.1, "x": -2.0}}
    probe, _ = _probe(table, {"P": 1})
    with pytest.raises(ScoringFallback, match="outside the listed"):
        score_labels("P", [("stereotype",), ("unrelated",)], probe)


def test_score_labels_refuses_when_the_label_merges_with_the_prompt():
    table = {"P": {"a": -0.1, "b": -3.0}, "Pa": {"c": -0.1}}
    probe, _ = _probe(table, {"P": 1, "Pa": 1})  # "Pa" tokenized as one token: not the label's own
    with pytest.raises(ScoringFallback, match="merge"):
        score_labels("P", [("a", "c"), ("b",)], probe)


def test_gemma_turns_keep_the_system_text():
    prompt = render_chat("gemma", "RULES: always answer X.", [("user", "question")])
    assert prompt == "<start_of_turn>user\nRULES: always answer X.\n\nquestion<end_of_turn>\n<start_of_turn>model\n"
    assert "RULES" in render_chat("gemma", "RULES", [])
    assert render_chat("chatml", "RULES", [("user", "q")]).startswith("<|im_start|>system\nRULES<|im_end|>")


def test_server_routes_send_a_token_cap_the_server_honours():
    lm = make_lm("openai/gemma", LMOptions(api_base="http://127.0.0.1:9/v1"), check=False)
    assert lm.kwargs["extra_body"] == {"max_tokens": lm.kwargs["max_tokens"]} and lm.kwargs["max_tokens"] > 0
    capped = make_lm("openai/gemma", LMOptions(api_base="http://127.0.0.1:9/v1", max_tokens=32), check=False)
    assert capped.kwargs["extra_body"] == {"max_tokens": 32}


def test_chat_format_needs_a_server_address():
    from pld.errors import ConfigError

    with pytest.raises(ConfigError, match="--api-base"):
        make_lm("openai/gemma", LMOptions(chat_format="gemma"))


@contextlib.contextmanager
def _running_server(*flags: str):
    """``python -m llama_cpp.server`` over the embedded student's weights on a free loopback port."""
    pytest.importorskip("llama_cpp.server")
    from tests.servers import start_llama_server

    with start_llama_server("gemma3-270m", *flags) as running:
        yield running.base


@pytest.fixture(scope="module")
def server():
    with _running_server() as base:
        yield base


def _labels(lm, program, examples) -> list[str]:
    with dspy.context(lm=lm, adapter=student_adapter()):
        return [program(**ex.inputs()).label for ex in examples]


@pytest.mark.model
def test_server_labels_are_the_embedded_engines(server, data_dir):
    """The default served rule is the embedded engine's (the likeliest label-prefix token), taken
    in one request per label with logit_bias: the same labels on the same prompts."""
    task = get_task("stereoset")
    examples = task.load_splits(data_dir).val[:12]
    program = task.make_program()
    served = make_lm("openai/gemma3-270m", LMOptions(api_base=server, chat_format="gemma", cache=False))
    embedded = make_lm("local/gemma3-270m", LMOptions(cache=False))  # the model the servers serve
    served_labels, embedded_labels = _labels(served, program, examples), _labels(embedded, program, examples)
    assert dict(served.engine.label_paths) == {"logit-bias": len(examples)}, served.engine.fallback_reasons
    same = sum(a == b for a, b in zip(served_labels, embedded_labels))
    assert same >= len(examples) - 1, (served_labels, embedded_labels)  # a near-tie may flip with the batch split


@pytest.mark.model
def test_server_calibrates_as_the_embedded_engine_does(server, data_dir):
    """Calibrated scoring on a server: each label's lift lowered by its content-free advantage
    (found by bisection over logit_bias, no log-probabilities): the embedded calibrated labels."""
    task = get_task("stereoset")
    examples = task.load_splits(data_dir).val[8:16]  # rows where calibration changes the 270M's label
    program = task.make_program()
    served = make_lm("openai/gemma3-270m", LMOptions(api_base=server, chat_format="gemma", cache=False, calibrate=True))
    embedded = make_lm("local/gemma3-270m", LMOptions(cache=False, calibrate=True))
    served_labels, embedded_labels = _labels(served, program, examples), _labels(embedded, program, examples)
    assert served.model.endswith("+calibrated")  # the response cache keeps calibrated answers apart
    assert dict(served.engine.label_paths) == {"logit-bias": len(examples)}, served.engine.fallback_reasons
    assert len(served.engine._offsets) == 1  # one content-free prompt per rule list, measured once
    same = sum(a == b for a, b in zip(served_labels, embedded_labels))
    assert same >= len(examples) - 1, (served_labels, embedded_labels)
    plain = _labels(make_lm("local/gemma3-270m", LMOptions(cache=False)), program, examples)
    assert plain != embedded_labels  # calibration changes labels here, so the agreement above means something


@pytest.mark.model
def test_server_without_logit_bias_scores_summed_log_probabilities(server, data_dir, monkeypatch):
    """Where logit_bias is not applied, each label's own tokens' summed log-probabilities decide:
    the embedded engine's sums on the same prompts pick the same label."""
    import pld.backends.openai_compat as compat

    scored: list[tuple[str, int]] = []

    def recording(prompt, pieces, probe):
        index = score_labels(prompt, pieces, probe)
        scored.append((prompt, index))
        return index

    monkeypatch.setattr(compat, "score_labels", recording)
    task = get_task("stereoset")
    examples = task.load_splits(data_dir).val[:12]
    served = make_lm("openai/gemma3-270m", LMOptions(api_base=server, chat_format="gemma", cache=False))
    served.engine._bias_works = False  # as found on a server that ignores logit_bias
    labels = _labels(served, task.make_program(), examples)
    assert set(labels) <= set(task.labels)
    assert sum(served.engine.label_paths.values()) == len(examples)  # every label says its path
    assert served.engine.label_paths["logprobs"] >= len(examples) - 2, served.engine.fallback_reasons
    assert served.engine.stream_probes  # this server streams log-probabilities: one position normalised, not n_ctx

    embedded = make_lm("local/gemma3-270m", LMOptions(cache=False)).engine.engine
    choices = tuple(task.labels)
    with embedded._lock:
        embedded._load()
        for prompt, index in scored:
            totals = embedded._labels.summed_logprobs(prompt, choices)
            assert max(range(len(choices)), key=totals.__getitem__) == index, (prompt[-200:], totals)


@pytest.mark.model
def test_server_without_log_probabilities_keeps_the_rule_and_says_why_it_falls_back(data_dir):
    """``--logits_all False`` (the faster server): logit_bias needs no log-probabilities; where they
    would be needed, the label is generated under the grammar and the reason is counted."""
    task = get_task("stereoset")
    examples = task.load_splits(data_dir).val[:4]
    program = task.make_program()
    embedded_labels = _labels(make_lm("local/gemma3-270m", LMOptions(cache=False)), program, examples)
    with _running_server("--logits_all", "False") as base:
        served = make_lm("openai/gemma3-270m", LMOptions(api_base=base, chat_format="gemma", cache=False))
        assert _labels(served, program, examples) == embedded_labels
        assert dict(served.engine.label_paths) == {"logit-bias": len(examples)}
        served.engine._bias_works = False
        assert set(_labels(served, program, examples)) <= set(task.labels)
    assert served.engine.label_paths["grammar"] == len(examples)
    assert served.engine.fallback_reasons == {"the server returns no log-probabilities": len(examples)}


@pytest.mark.model
def test_server_grammar_mode_gives_the_embedded_rule_in_one_request_per_label(server, data_dir):
    """--label-mode grammar: no log-probabilities, the label generated under the grammar, which is
    the embedded engine's scoring rule (the label that starts with the most likely token)."""
    task = get_task("stereoset")
    examples = task.load_splits(data_dir).val[:8]
    program = task.make_program()
    served = make_lm("openai/gemma3-270m", LMOptions(api_base=server, chat_format="gemma", cache=False,
                                                     label_mode="grammar"))
    embedded = make_lm("local/gemma3-270m", LMOptions(cache=False))  # the model the servers serve
    answers = {}
    for name, lm in (("served", served), ("embedded", embedded)):
        with dspy.context(lm=lm, adapter=student_adapter()):
            answers[name] = [program(**ex.inputs()).label for ex in examples]
    assert dict(served.engine.label_paths) == {"grammar": len(examples)}
    assert served.model.endswith("+grammar")  # the response cache keeps the two modes apart
    same = sum(a == b for a, b in zip(answers["served"], answers["embedded"]))
    assert same >= len(examples) - 1, answers  # one near-tie may flip with the server's batch split


class YesNo(dspy.Signature):
    """Answer the question."""

    question: str = dspy.InputField()
    answer: Literal["Yes", "No"] = dspy.OutputField()


@pytest.mark.model
def test_server_scores_a_yes_no_label(server):
    served = make_lm("openai/gemma3-270m", LMOptions(api_base=server, chat_format="gemma", cache=False))
    with dspy.context(lm=served, adapter=student_adapter()):
        answer = dspy.Predict(YesNo)(question="Is the sky blue on a clear day?").answer
    assert answer in ("Yes", "No")
    assert served.engine.label_paths["logit-bias"] == 1, served.engine.fallback_reasons


@pytest.mark.model
def test_the_turn_format_is_found_from_the_servers_tokenizer(server, caplog):
    """Without --chat-format, a llama.cpp server's tokenizer says the model is Gemma: labels are
    scored through /v1/completions (the fast path), and the log says where the format came from."""
    from pld.backends.base import backend_info

    with caplog.at_level("INFO", logger="pld.backends.lm"):
        lm = make_lm("openai/gemma3-270m", LMOptions(api_base=server, cache=False))
    assert backend_info(lm).chat_format == "gemma" and lm.model.startswith("openai-completions/")
    assert "from its tokenizer, which has <start_of_turn> as one special token" in caplog.text
    kept = make_lm("openai/gemma3-270m", LMOptions(api_base=server, cache=False, chat_format="chat"))
    assert backend_info(kept).chat_format is None and kept.model == "openai/gemma3-270m"


@pytest.mark.model
def test_chat_route_stops_at_the_token_cap(server):
    lm = make_lm("openai/gemma3-270m", LMOptions(api_base=server, max_tokens=24, cache=False, chat_format="chat"))
    lm(messages=[{"role": "user", "content": "Count from 1 to 500, one number per line."}])
    assert lm.history[-1]["usage"]["completion_tokens"] <= 24  # uncapped, this server runs to a full context


@pytest.mark.model
def test_rules_reach_the_servers_prompt(server):
    """Longer rules, more prompt tokens counted by the server: the system text is sent."""
    served = make_lm("openai/gemma3-270m", LMOptions(api_base=server, chat_format="gemma", cache=False))
    counts = []
    for rules in ("Answer the question.", "Answer the question. " + "Rule: a dragon is never blue. " * 10):
        signature = YesNo.with_instructions(rules)
        with dspy.context(lm=served, adapter=student_adapter()):
            dspy.Predict(signature)(question="Is the sky blue?")
        counts.append(served.history[-1]["usage"]["prompt_tokens"])
    assert counts[1] > counts[0] + 50, counts
