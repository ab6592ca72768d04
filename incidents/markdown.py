"""An incident as Markdown, for the postmortem: its facts, the four durations, the summary
and the timeline. Every text that came from a person or a label (titles, notes, summaries,
comments, reasons, label values) is escaped, so that a ``*`` or a ``[link](…)`` in it stays
text and a ``#`` at the start of a note does not become a heading."""

from __future__ import annotations

import re
from datetime import datetime

from django.utils import timezone

from core import formatting
from incidents.models import Incident
from incidents.timeline import Timeline

# CommonMark lets any ASCII punctuation be escaped with a backslash; these are the ones that
# can start or end markup (emphasis, links, code, headings, lists, tables, HTML, strikethrough).
_SIGNIFICANT = re.compile(r"([\\`*_{}\[\]()#!|<>~&])")
# Only at the start of a line: a list item ("- ", "+ ", "1. "), a setext underline ("===").
_LINE_START = re.compile(r"^(\d*)([-+=.)])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape(text: object) -> str:
    """Plain text safe inside a Markdown line: markup characters escaped, control characters
    dropped, line breaks kept as hard breaks inside the same list item or paragraph."""
    clean = _CONTROL.sub("", str(text)).replace("\r\n", "\n").replace("\r", "\n")
    lines = [
        _LINE_START.sub(r"\1\\\2", _SIGNIFICANT.sub(r"\\\1", line.strip()))
        for line in clean.split("\n")
    ]
    return "  \n  ".join(line for line in lines if line)


def _moment(at: datetime | None) -> str:
    return f"{timezone.localtime(at):%Y-%m-%d %H:%M:%S %Z}" if at else formatting.MISSING


def render(incident: Incident, timeline: Timeline) -> str:
    lines = [
        f"# Incident {incident.pk}: {escape(incident.title)}",
        "",
        f"- Status: {incident.get_status_display()}"
        + (" (closed by itself: every check back to ok)" if incident.closed_by_itself else ""),
        f"- Severity: {incident.get_severity_display()}",
        f"- First sign: {_moment(timeline.durations.first_sign)}",
        f"- Opened: {_moment(incident.opened_at)} by "
        + (escape(incident.opened_by) if incident.opened_by else "the panel"),
    ]
    if incident.closed_at:
        lines.append(
            f"- Closed: {_moment(incident.closed_at)} by "
            + (escape(incident.closed_by) if incident.closed_by else "the panel")
        )
    if timeline.alert_names:
        lines.append(f"- Alerts: {', '.join(escape(n) for n in timeline.alert_names)}")
    if timeline.checks:
        lines.append(f"- Checks: {', '.join(escape(c) for c in timeline.checks)}")
    lines += [
        "",
        "## Durations",
        "",
        "Each from the first sign.",
        "",
        "| Measure | Duration | At | Ends with |",
        "|---|---|---|---|",
    ]
    for name, span, at, what in timeline.durations.rows():
        shown = formatting.span(span) if span is not None else "not yet"
        lines.append(f"| {name} | {shown} | {_moment(at) if at else formatting.MISSING} | {what} |")
    lines += ["", "## Summary", "", escape(incident.summary) if incident.summary else "None yet."]
    lines += ["", "## Timeline", ""]
    for entry in timeline.entries:
        who = f" — {escape(entry.actor)}" if entry.actor else ""
        detail = f": {escape(entry.detail)}" if entry.detail else ""
        lines.append(
            f"- {_moment(entry.at)} · **{entry.source_label}** · {escape(entry.text)}{who}{detail}"
        )
    if not timeline.entries:
        lines.append("Nothing recorded.")
    if timeline.cut:
        lines += ["", f"Cut at the first rows of each source: {', '.join(timeline.cut)}."]
    lines += [
        "",
        f"Exported {_moment(timezone.now())} from the LeanVibe control panel.",
        "",
    ]
    return "\n".join(lines)
