"""Pages of the panel's long lists (runbook audit, checklist history): the page form that bounds
``?page=`` and ``?per_page=`` where they enter, and the page itself, found among primary keys.

The Alertmanager loop's lists page with ``firing.paging`` instead: they page by alerts in group
order and keep two lists' pages in one URL, which Django's Page does not model.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

DEFAULT_PER_PAGE = 50
# 100 rows render in about 100 ms on a loaded two-core machine (bench/lists.py); 200 took the
# busiest page past its 300 ms budget. The CSV downloads are there for every row.
MAX_PER_PAGE = 100
PAGE_SIZES = (25, 50, 100)  # offered on the page; any size up to the maximum is taken
MAX_PAGE = 100_000


def whole_number(label: str, low: int, high: int) -> forms.IntegerField:
    """An optional whole-number GET parameter that says its range when refused."""
    message = f"{label.capitalize()} must be a whole number from {low:,} to {high:,}."
    return forms.IntegerField(
        required=False,
        min_value=low,
        max_value=high,
        label=label.capitalize(),
        error_messages={"invalid": message, "min_value": message, "max_value": message},
    )


class PageForm(forms.Form):
    """``?page=`` and ``?per_page=`` of a paginated list; lists add their filters."""

    page = whole_number("page", 1, MAX_PAGE)
    per_page = whole_number("page size", 1, MAX_PER_PAGE)

    def paginate(self, rows: QuerySet[Any]) -> Page:
        """The asked page of ``rows``; a page past the end is the last one (the list may have
        shrunk since the link was made).

        The page is found among the primary keys alone, then its rows are read with their
        joins: a deep page (``OFFSET 9950``) then sorts narrow rows instead of joining and
        sorting every wide row before it (120 ms against 20 ms with 10,000 runs)."""
        data = self.cleaned_data
        paginator: Paginator[Any] = Paginator(
            rows.values_list("pk", flat=True), data.get("per_page") or DEFAULT_PER_PAGE
        )
        page = paginator.get_page(data.get("page") or 1)
        keys = list(page.object_list)
        found = rows.in_bulk(keys)
        page.object_list = [found[key] for key in keys if key in found]
        return page
