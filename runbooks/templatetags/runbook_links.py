"""``{{ check|runbook_href }}``: the runbook of a check's alert, with its labels to prefill."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse

register = template.Library()


@register.filter
def runbook_href(check: Any) -> str:
    url = reverse("runbooks:detail", args=[check.threshold.alert.name])
    labels = {k: v for k, v in (check.labels or {}).items() if isinstance(v, str)}
    return f"{url}?{urlencode(labels)}" if labels else url
