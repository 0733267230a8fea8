"""Every package of the source tree ships in the distribution."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(("pld", *init.parent.relative_to(ROOT / "pld").parts)) for init in (ROOT / "pld").rglob("__init__.py")}
    found |= {"pld.signatures", "pld.programs"}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    assert config["package-dir"]["pld.signatures"] == "signatures"
    assert config["package-dir"]["pld.programs"] == "programs"
