"""How a loaded artifact gets its student: the spec, server and options a caller names, with the
label decoding the artifact was scored with unless the caller overrides it.

Rules were selected by the student's answers under one label decoding (scoring or a grammar,
calibrated or not); a program loaded with another one answers differently. A missing server
address is named in ``pld.load``'s keywords, since apps call it from Python.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pld.errors import ConfigError

if TYPE_CHECKING:
    import dspy

    from pld.artifacts.manifest import Manifest
    from pld.backends.options import LabelMode, LMOptions, ModelSpec

DECODING_FIELDS = ("label_mode", "calibrate", "chat_format")  # how the student was scored; loading keeps them


def bind_student(manifest: Manifest, student_lm: str | ModelSpec | dspy.BaseLM | None, *, api_base: str | None = None,
                 options: LMOptions | None = None, label_mode: LabelMode | None = None,
                 calibrate: bool | None = None) -> dspy.BaseLM:
    """The LM ``load`` binds: a ready LM as it is; a spec (the recorded one by default) built with
    ``options`` at ``api_base`` and the artifact's label decoding unless overridden."""
    from pld.backends.lm import make_lm
    from pld.backends.options import LMOptions, ModelSpec

    if student_lm is not None and not isinstance(student_lm, (str, ModelSpec)):
        return student_lm
    if isinstance(student_lm, ModelSpec):
        if options is not None:
            raise ConfigError("pass the student's options in its ModelSpec or as options=, not both.")
        student_lm, options = student_lm.spec, student_lm.options
    spec = student_lm or manifest.student_model
    options = options or LMOptions()
    if api_base is not None:
        options = options.replace(api_base=api_base)
    overrides = {"label_mode": label_mode, "calibrate": calibrate}
    options = options.replace(**_decoding(manifest, options, overrides, same_student=spec == manifest.student_model))
    _check_address(spec, options, manifest)
    return make_lm(spec, options)


def _decoding(manifest: Manifest, options: LMOptions, overrides: dict[str, Any], *,
              same_student: bool = True) -> dict[str, Any]:
    """Per decoding field: the keyword if given, else a non-default field of ``options``, else the
    artifact's recorded value (an artifact that records none decodes with the defaults). The
    recorded turn format belongs to the recorded student's server: another student finds its own."""
    from pld.backends.options import LMOptions

    default = LMOptions()
    chosen: dict[str, Any] = {}
    for name in DECODING_FIELDS:
        if overrides.get(name) is not None:
            chosen[name] = overrides[name]
        elif getattr(options, name) != getattr(default, name):
            chosen[name] = getattr(options, name)
        elif name == "chat_format" and not same_student:
            chosen[name] = getattr(default, name)
        else:
            chosen[name] = manifest.student_options.get(name, getattr(default, name))
    return chosen


def _check_address(spec: str, options: LMOptions, manifest: Manifest) -> None:
    """``openai/<model>`` with neither an address nor a key: name the fix in ``load``'s own terms
    (apps call it from Python), with the command-line flag for ``pld predict`` / ``pld evaluate``."""
    if not spec.startswith("openai/") or options.api_base is not None:
        return
    if options.chat_format is None and os.environ.get("OPENAI_API_KEY"):
        return
    recorded = manifest.backends.get("student")
    where = f" (it was compiled against {recorded.describe()})" if recorded and recorded.server else ""
    raise ConfigError(
        f"student {spec!r} needs a server address{where}: pld.load(path, student_lm={spec!r}, "
        "api_base='http://127.0.0.1:8080/v1') for an OpenAI-compatible server (llama.cpp, vLLM, Ollama's /v1; "
        "--student-api-base on the command line)"
        + ("" if options.chat_format else ", or set OPENAI_API_KEY for OpenAI itself") + "."
    )
