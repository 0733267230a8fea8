"""An artifact's program.json loads with plain DSPy, in a process that cannot import pld; and
``pld.load`` refuses a program state whose fields differ by name from the task's signature."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pld.errors import ArtifactError
from tests.conftest import copy_with_rules

ARTIFACT = Path(__file__).resolve().parents[1] / "artifacts" / "stereoset-gemma3-270m"

# The README's "plain DSPy" lines, verbatim apart from the path and the isolation checks.
PLAIN_DSPY = '''
import importlib.util, json, sys
assert importlib.util.find_spec("pld") is None, "pld must not be importable here"
from typing import Literal
import dspy

class StereoSetSignature(dspy.Signature):
    """Instructions are replaced by the artifact's."""
    target: str = dspy.InputField()
    context: str = dspy.InputField()
    sentence: str = dspy.InputField()
    label: Literal["stereotype", "anti-stereotype", "unrelated"] = dspy.OutputField()

class Classifier(dspy.Module):
    def __init__(self):
        super().__init__()
        self.predict = dspy.Predict(StereoSetSignature)  # the predictor is named `predict`
    def forward(self, **inputs):
        return self.predict(**inputs)

program = Classifier()
program.load(sys.argv[1] + "/program.json")
single = dspy.Predict(StereoSetSignature)  # or one predictor, from the `predict` entry
single.load_state(json.load(open(sys.argv[1] + "/program.json"))["predict"])
assert single.signature.instructions == program.predict.signature.instructions
assert "pld" not in sys.modules and not any(name.startswith("pld.") for name in sys.modules)
print(json.dumps({"instructions": program.predict.signature.instructions,
                  "fields": list(program.predict.signature.fields)}))
'''


def _isolated_env(tmp_path: Path) -> dict[str, str]:
    """No PYTHONPATH, a working directory outside the repository, and no user site: pld unreachable
    unless it is installed into the interpreter's own site-packages (then the script says so)."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env.update(PYTHONNOUSERSITE="1", DSPY_CACHEDIR=str(tmp_path / "cache"), LITELLM_LOCAL_MODEL_COST_MAP="True")
    return env


def test_artifact_loads_with_plain_dspy_in_a_process_without_pld(tmp_path: Path) -> None:
    artifact = copy_with_rules(tmp_path / "artifact")
    # An editable install of pld adds a finder through a .pth file in site-packages: take it and
    # the repository's folder away, so the script's own `find_spec("pld") is None` check is real.
    guard = (
        "import sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in getattr(f, '__module__', '')]\n"
        f"sys.path[:] = [p for p in sys.path if p.rstrip('/') != {str(ARTIFACT.parents[1])!r}]\n"
    )
    done = subprocess.run([sys.executable, "-I", "-c", guard + PLAIN_DSPY, str(artifact)], cwd=tmp_path,
                          capture_output=True, text=True, env=_isolated_env(tmp_path), timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    manifest = json.loads((artifact / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["rules"]
    for rule in manifest["rules"]:
        assert rule["text"] in loaded["instructions"]
    assert loaded["fields"] == ["target", "context", "sentence", "label"]


def test_load_refuses_fields_saved_in_another_order(tmp_path: Path) -> None:
    from pld.artifacts.artifact import _check_fields
    from pld.tasks import get_task

    artifact = tmp_path / "artifact"
    shutil.copytree(ARTIFACT, artifact)
    state = json.loads((artifact / "program.json").read_text(encoding="utf-8"))
    program = get_task("stereoset").make_program()
    _check_fields(artifact, program)  # the committed state matches its signature

    fields = state["predict"]["signature"]["fields"]
    fields[0], fields[1] = fields[1], fields[0]  # context before target: DSPy would load it silently
    (artifact / "program.json").write_text(json.dumps(state), encoding="utf-8")
    with pytest.raises(ArtifactError, match=r"do not match .* by name") as caught:
        _check_fields(artifact, program)
    assert "\n" not in str(caught.value)
