"""The review document of a compiled program (a jinja2 template)."""

from __future__ import annotations

from pld.render import _environment
from pld.report import RunReport


def render_report_markdown(task: str, teacher: str, student: str, report: RunReport) -> str:
    template = _environment().get_template("report.md.j2")
    return template.render(task=task, teacher=teacher, student=student, report=report)
