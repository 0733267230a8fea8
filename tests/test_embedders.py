"""Embedders for clustering micro-rules: the names, the missing-extra error, and real MiniLM vectors."""

from __future__ import annotations

import importlib.util
from typing import get_args

import numpy as np
import pytest

from pld.config import CompileSettings
from pld.errors import BackendError, ConfigError
from pld.pipeline import embedders
from pld.pipeline.clustering import cluster_traces
from pld.pipeline.embedders import EMBEDDER_NAMES, MiniLMEmbedder, TfidfEmbedder, make_embedder
from pld.rules import Trace

MINILM_INSTALLED = all(importlib.util.find_spec(name) for name in ("sentence_transformers", embedders.MINILM_PACKAGE))
needs_minilm = pytest.mark.skipif(not MINILM_INSTALLED, reason='the embed extra is not installed (pip install "pld[embed]")')

PARAPHRASES = [
    ("If the sentence repeats a widely held belief about the group, the answer is stereotype.",
     "When the statement echoes a common cliché about those people, answer stereotype."),
    ("If the sentence has nothing to do with the context, the answer is unrelated.",
     "When the statement is irrelevant to the passage before it, choose unrelated."),
]
UNRELATED = "Bake the bread at two hundred degrees for forty minutes."


def test_make_embedder_knows_the_names_the_compile_job_offers():
    assert set(EMBEDDER_NAMES) == set(get_args(CompileSettings.model_fields["embedder"].annotation))
    assert isinstance(make_embedder("tfidf"), TfidfEmbedder)
    with pytest.raises(ConfigError, match=r"unknown embedder 'bert': must be one of 'tfidf', 'minilm'"):
        make_embedder("bert")
    with pytest.raises(ConfigError, match="invalid compile setting embedder='bert'"):
        CompileSettings(embedder="bert")


def test_compile_flag_sets_the_embedder():
    from pld.cli import build_parser
    from pld.commands.compile import settings_from

    parser = build_parser()
    assert settings_from(parser.parse_args(["compile"])).embedder == "tfidf"
    assert settings_from(parser.parse_args(["compile", "--embedder", "minilm"])).embedder == "minilm"
    with pytest.raises(SystemExit):
        parser.parse_args(["compile", "--embedder", "bert"])


def test_minilm_without_its_extra_fails_at_once_with_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == embedders.MINILM_PACKAGE else real(name, *a))
    with pytest.raises(BackendError) as error:
        make_embedder("minilm")
    assert 'pip install "pld[embed]"' in str(error.value) and "\n" not in str(error.value)


@needs_minilm
def test_minilm_puts_paraphrases_closer_than_unrelated_sentences():
    embed = make_embedder("minilm")
    texts = [text for pair in PARAPHRASES for text in pair] + [UNRELATED]
    vectors = embed(texts)
    assert vectors.shape == (5, MiniLMEmbedder.dimensions)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    for i in (0, 2):  # each rule is nearer its paraphrase than the other label's rule or the recipe
        assert similarity[i, i + 1] > similarity[i, 2 - i] + 0.1
        assert similarity[i, i + 1] > similarity[i, 4] + 0.3
    # TF-IDF sees almost no shared words in the paraphrases: what MiniLM is for.
    tfidf = TfidfEmbedder()(texts)
    tfidf /= np.linalg.norm(tfidf, axis=1, keepdims=True)
    assert (tfidf @ tfidf.T)[0, 1] < similarity[0, 1] - 0.3
    assert embed([]).shape == (0, MiniLMEmbedder.dimensions)


@needs_minilm
def test_minilm_clusters_paraphrased_micro_rules_by_meaning():
    rules = [a for a, _ in PARAPHRASES] + [b for _, b in PARAPHRASES]
    rules += ["If the sentence reinforces a cliché about the group, the answer is stereotype.",
              "When the sentence is irrelevant to the context given, answer unrelated."]
    traces = [Trace(example_key=f"k{i}", example_id=None, inputs={}, mode="label-conditioned", gold_label=None, teacher_label=None,
                    rationale="", micro_rule=rule) for i, rule in enumerate(rules)]
    clusters, noise = cluster_traces(traces, make_embedder("minilm"), eps=0.4, min_samples=2)
    groups = sorted(sorted("stereotype" in t.micro_rule for t in c.traces) for c in clusters)
    assert groups == [[False, False, False], [True, True, True]] and noise == []


def test_the_compile_job_refuses_a_missing_embedder_before_loading_any_model(monkeypatch, tmp_path, data_dir):
    import pld.jobs
    import pld.jobs.setup

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "sentence_transformers" else real(name, *a))

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was loaded before the embedder was checked")

    monkeypatch.setattr(pld.jobs.setup, "make_lm", no_model)
    settings = CompileSettings(embedder="minilm", n_train=3, n_val=3, data_dir=str(data_dir))
    with pytest.raises(BackendError, match=r'pld\[embed\]'):
        pld.jobs.compile_task("stereoset", tmp_path / "out", settings)
    assert not (tmp_path / "out").exists()
