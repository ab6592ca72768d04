"""What a piece of evidence says, and the JSON it is kept as in the run's snapshot.

A run keeps each result as a plain dict, so that it reads the same later::

    {"verdict": "ok" | "attention" | "error" | "unverified",
     "summary": "one sentence",
     "facts": [[label, text], ...],
     "table": {"columns": [...], "rows": [[...], ...]},   # only when there are rows
     "links": [[text, path], ...],                           # only when there are links
     "values": {...}}                                        # raw numbers, for tests and CSV

``Result.to_dict`` writes exactly that shape and ``Result.from_dict`` reads it back: the
template renders the stored dicts, including those stored before the result was typed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.utils import timezone

from core import formatting


class Verdict(StrEnum):
    OK = "ok"
    ATTENTION = "attention"
    # The source did not answer: the item could not be verified, which is never an "ok".
    ERROR = "error"
    UNVERIFIED = "unverified"


OK, ATTENTION, ERROR, UNVERIFIED = (
    Verdict.OK,
    Verdict.ATTENTION,
    Verdict.ERROR,
    Verdict.UNVERIFIED,
)

Fact = tuple[str, str]  # (label, text)
Link = tuple[str, str]  # (text, the panel's own path: never a user's value)


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def to_dict(self) -> dict[str, list[Any]]:
        return {"columns": list(self.columns), "rows": [list(row) for row in self.rows]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Table:
        return cls(
            tuple(data.get("columns") or ()), tuple(tuple(row) for row in data.get("rows") or ())
        )


@dataclass(frozen=True)
class Result:
    """The evidence of one kind for a run: a verdict, a sentence saying why, labelled facts,
    an optional table of the rows behind it, the raw values (for tests and CSV), and links to
    the panel's pages it speaks of (the incidents of the period)."""

    verdict: Verdict
    summary: str
    facts: tuple[Fact, ...] = ()
    table: Table | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    links: tuple[Link, ...] = ()

    def __post_init__(self) -> None:
        # A table without rows is neither stored nor shown: the page would offer "0 rows".
        if self.table is not None and not self.table.rows:
            object.__setattr__(self, "table", None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "verdict": self.verdict.value,
            "summary": self.summary,
            "facts": [list(fact) for fact in self.facts],
        }
        if self.table is not None:
            out["table"] = self.table.to_dict()
        if self.links:
            out["links"] = [list(link) for link in self.links]
        out["values"] = dict(self.values)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Result:
        table = data.get("table")
        return cls(
            verdict=Verdict(data["verdict"]),
            summary=data["summary"],
            facts=tuple((label, text) for label, text in data.get("facts") or ()),
            table=Table.from_dict(table) if table else None,
            values=dict(data.get("values") or {}),
            links=tuple((text, path) for text, path in data.get("links") or ()),
        )


Gatherer = Callable[[datetime], Result]


def failed(what: str, failure: str, reason: str, facts: tuple[Fact, ...] = ()) -> Result:
    """A source that did not answer: an error with the reason, never an "ok"."""
    return Result(
        ERROR, f"Could not be verified: {what} did not answer ({failure}: {reason}).", facts
    )


def when(moment: datetime | None) -> str:
    """A moment in the panel's time zone, to the minute."""
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else formatting.MISSING
