"""The review document of a compiled program (a jinja2 template), and the helpers its templates share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pld.pipeline.render import _environment
from pld.artifacts.report import RunReport
from pld.backends.label_paths import describe_label_paths
from pld.rules import ExampleRef, excerpt


def md(text: str | None) -> str:
    """Text as literal Markdown on one line: rule texts may carry tags (``<start_of_turn>``) that
    a Markdown viewer would otherwise swallow, and ``|`` that would break a table."""
    text = " ".join(str(text or "").split())
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("`", "\\`")):
        text = text.replace(raw, escaped)
    return text


def ref_md(ref: ExampleRef) -> str:
    """One training example in Markdown: id (when the data has one), key, excerpt."""
    return ("" if ref.id is None else f"id {md(ref.id)} · ") + f"`{ref.key}` · “{md(ref.excerpt)}”"


def template_helpers() -> dict[str, Callable[..., Any]]:
    """What report.md.j2, review.md.j2 and provenance.md.j2 call."""
    return {"md": md, "ref_md": ref_md, "excerpt": excerpt, "describe_label_paths": describe_label_paths}


def render_report_markdown(task: str, teacher: str, student: str, report: RunReport) -> str:
    template = _environment().get_template("report.md.j2")
    return template.render(task=task, teacher=teacher, student=student, report=report, **template_helpers())
