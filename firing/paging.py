"""Pages of the Alertmanager loop's lists: which slice of a list a page shows, how many there
are in all, and links to the other pages that keep every other query parameter (the filters,
the page size, the other list's page).

The page number and size come from the list's GET form (``firing.forms.ListQueryForm``),
which bounds them; this module only does the arithmetic and builds the links.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import QueryDict

# The numbered links either side of the current page; first and last are always linked.
NEIGHBOURS = 2


@dataclass(frozen=True)
class PageLink:
    number: int | None  # None: the gap between numbered links
    url: str = ""
    is_current: bool = False

    @property
    def label(self) -> str:
        return "" if self.number is None else f"{self.number:,}"


@dataclass(frozen=True)
class Pager:
    """Page ``number`` of ``count`` items, ``per_page`` a page. ``asked`` is the page the
    link asked for: a live list shrinks as alerts resolve, so a page past the end shows the
    last one and says so, rather than failing a link that was right a minute ago."""

    number: int
    per_page: int
    count: int
    asked: int
    query: QueryDict
    param: str
    noun: str
    anchor: str = ""  # where on the page the list is: its links land there

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // self.per_page))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def start(self) -> int:
        """The 1-based position of the page's first item (0 for an empty list)."""
        return self.offset + 1 if self.count else 0

    @property
    def end(self) -> int:
        return min(self.offset + self.per_page, self.count)

    @property
    def summary(self) -> str:
        if not self.count:
            return f"No {self.noun}"
        if self.count <= self.per_page:
            return f"Showing all {self.count:,} {self.noun}"
        return (
            # An en dash between the numbers, as in print.
            f"Showing {self.start:,}\u2013{self.end:,} of {self.count:,} {self.noun} "
            f"(page {self.number:,} of {self.num_pages:,})"
        )

    @property
    def was_past_the_end(self) -> bool:
        return self.asked > self.number

    @property
    def has_other_pages(self) -> bool:
        return self.num_pages > 1

    def url(self, number: int) -> str:
        query = self.query.copy()
        query[self.param] = str(number)
        return f"?{query.urlencode()}" + (f"#{self.anchor}" if self.anchor else "")

    @property
    def previous_url(self) -> str:
        return self.url(self.number - 1) if self.number > 1 else ""

    @property
    def next_url(self) -> str:
        return self.url(self.number + 1) if self.number < self.num_pages else ""

    @property
    def links(self) -> list[PageLink]:
        """First, last, and the pages next to this one, with a gap where numbers are left
        out: a dozen links at most however many pages there are."""
        last = self.num_pages
        shown = {1, last} | set(
            range(max(1, self.number - NEIGHBOURS), min(last, self.number + NEIGHBOURS) + 1)
        )
        links: list[PageLink] = []
        previous = 0
        for number in sorted(shown):
            if number > previous + 1:
                links.append(PageLink(None))
            links.append(PageLink(number, self.url(number), number == self.number))
            previous = number
        return links


def pager(
    query: QueryDict,
    *,
    count: int,
    page: int,
    per_page: int,
    param: str,
    noun: str,
    anchor: str = "",
) -> Pager:
    """The page to show of ``count`` items: ``page`` itself, or the last page when the list
    has shrunk below it."""
    last = max(1, -(-count // per_page))
    return Pager(
        number=min(page, last),
        per_page=per_page,
        count=count,
        asked=page,
        query=query,
        param=param,
        noun=noun,
        anchor=anchor,
    )
