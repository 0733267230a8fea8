"""Loading splits from the HuggingFace hub, with failures turned into DataErrors.

The hub is the users' way to get the data sets without the official files; tests never touch
it (no network here). Task modules map each hub schema to the same Example fields as the files.
"""

from __future__ import annotations

import logging
from typing import Any

from pld.errors import DataError

logger = logging.getLogger(__name__)

PARQUET_REVISION = "refs/convert/parquet"


def load_hub_split(hub_id: str, config: str | None, split: str) -> Any:
    """Return ``datasets.load_dataset(hub_id, config, split=split)`` or raise a DataError."""
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - datasets is a declared dependency
        raise DataError(
            "loading from the HuggingFace hub needs the `datasets` package; install it, or use "
            "source='files' with --data-dir pointing at the official files"
        ) from exc
    logger.info("loading %s (config %s, split %s) from the HuggingFace hub", hub_id, config, split)
    try:
        try:
            return datasets.load_dataset(hub_id, config, split=split)
        except Exception as exc:
            if "script" not in str(exc).lower():
                raise
            # `datasets` >= 4 no longer runs loading scripts; the hub keeps a parquet export of
            # script-based data sets (with the same features) under this revision.
            logger.info("%s is script-based; loading its parquet export instead", hub_id)
            return datasets.load_dataset(hub_id, config, split=split, revision=PARQUET_REVISION)
    except Exception as exc:  # network, auth, missing repo or config, ...
        detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        raise DataError(
            f"could not load {hub_id!r} (config {config!r}, split {split!r}) from the "
            f"HuggingFace hub: {type(exc).__name__}: {detail}. Check the network connection "
            "and the data set's name (or set HF_HUB_OFFLINE=1 with a filled cache), or use "
            "source='files' with --data-dir pointing at a folder with the official files"
        ) from exc


def class_label_names(feature: Any) -> list[str] | None:
    """Names of a ``ClassLabel`` feature, looking through ``List``/``Sequence`` wrappers."""
    for _ in range(4):
        names = getattr(feature, "names", None)
        if isinstance(names, list) and names:
            return [str(name) for name in names]
        feature = getattr(feature, "feature", None)
        if feature is None:
            return None
    return None


def dataset_features(dataset: Any) -> dict[str, Any]:
    """The dataset's features as a dict ({} when it has none, e.g. a plain list of rows)."""
    features = getattr(dataset, "features", None)
    return dict(features) if features else {}
