"""Forms of the Alertmanager loop: acknowledging a firing alert, silencing alerts, and the GET
parameters of each list (page, page size, filters), bounded where they enter."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone

from core.choices import Severity
from core.promql import duration_seconds
from firing.choices import ListOrder
from firing.labels import INSTANCE_LABELS
from firing.models import FiringAlert
from integrations.alertmanager import Matcher

DURATIONS = [
    ("30m", "30 minutes"),
    ("1h", "1 hour"),
    ("2h", "2 hours"),
    ("4h", "4 hours"),
    ("8h", "8 hours"),
    ("24h", "24 hours"),
    ("custom", "Custom"),
    ("until", "Until a time"),
]
# A silence longer than this is a forgotten silence; change the rule or the threshold instead.
MAX_SILENCE = timedelta(days=14)
MIN_SILENCE = timedelta(minutes=1)
# Labels a silence from an alert starts with, in this order; the alert's other labels follow.
# Not severity: a silence for a warning must still hold when the alert turns critical (the
# same alert, one label different); it is added only when asked for (``match_severity``).
LEADING_LABELS = ("alertname", "tenant_tier")
# What a silence can be extended by from the silences list.
EXTENSIONS = [("1h", "1 hour"), ("4h", "4 hours"), ("24h", "24 hours")]
# The ``datetime-local`` input's format (minutes), and what a person may type instead.
END_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
# Free text people type: a comment is a sentence or two and a ticket number, and it is shown
# on every row of a list; the matchers of a silence are one short line per label.
COMMENT_MAX_CHARS = 2000
MATCHERS_MAX_CHARS = 10_000
MATCHERS_MAX_LINES = 100
# A list page: enough rows to see a storm's shape, few enough to render fast. The largest
# page keeps the budget of the default one (bench/firing_list.py: 300 ms, 500 KB with 10,000
# alerts); 200 rows came to 483 KB and about 300 ms of CPU, no margin for longer labels.
PER_PAGE_DEFAULT = 50
PER_PAGE_MIN = 10
PER_PAGE_MAX = 100
# Past any list we hold; it keeps the OFFSET, and the int() of the parameter, small.
PAGE_MAX = 100_000
# PostgreSQL's bigint: a larger primary key is no row, not an overflow in the driver.
PK_MAX = 2**63 - 1


def _too_long(what: str, limit: int) -> str:
    return f"{what} is at most {limit:,} characters (this one has %(show_value)d): shorten it."


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(
        max_length=COMMENT_MAX_CHARS,
        widget=forms.TextInput(attrs={"placeholder": "Looking into it: what you are doing"}),
        help_text="Say what you are doing about it; the next person on call reads this. "
        f"At most {COMMENT_MAX_CHARS:,} characters.",
        error_messages={
            "required": "A comment is needed: say what you are doing about it.",
            "max_length": _too_long("A comment", COMMENT_MAX_CHARS),
        },
    )
    # One set of actions per card: "card" acknowledges every firing instance of it.
    scope = forms.ChoiceField(
        required=False,
        choices=[("", "this alert"), ("card", "every instance of it")],
        widget=forms.HiddenInput,
    )


def matchers_for(
    alert: FiringAlert, *, every_instance: bool = False, with_severity: bool = False
) -> list[Matcher]:
    """Equality matchers on the labels of the alert, the leading ones first: together they
    silence this alert whatever its severity (``with_severity`` adds it back); with
    ``every_instance``, on every pod and instance it fires on (the instance labels left
    out). Delete lines to silence more."""
    labels = alert.labels
    skipped = set() if with_severity else {"severity"}
    if every_instance:
        skipped |= INSTANCE_LABELS
    names = [n for n in LEADING_LABELS if n in labels]
    names += sorted(n for n in labels if n not in LEADING_LABELS)
    return [Matcher(name, str(labels[name])) for name in names if name not in skipped]


class _DateTimeField(forms.DateTimeField):
    """A date and time that refuses NUL before it is parsed (the parser let a trailing one
    through, on to Alertmanager)."""

    def to_python(self, value: Any) -> datetime | None:
        if isinstance(value, str) and "\x00" in value:
            raise forms.ValidationError("Null characters are not allowed.", code="null_characters")
        return super().to_python(value)


class SilenceForm(forms.Form):
    matchers = forms.CharField(
        max_length=MATCHERS_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text='One per line: name="value", name!="value", name=~"regex" or name!~"regex". '
        "An alert is silenced when every line matches it. "
        f"At most {MATCHERS_MAX_LINES} lines and {MATCHERS_MAX_CHARS:,} characters.",
        error_messages={"max_length": _too_long("The matchers text", MATCHERS_MAX_CHARS)},
    )
    duration = forms.ChoiceField(choices=DURATIONS, initial="1h", widget=forms.RadioSelect)
    custom_duration = forms.CharField(
        required=False,
        max_length=20,
        label="Custom duration",
        help_text="Like 90m, 2h30m or 3d (at most 14 days).",
        # Typing a length ticks "Custom" (static/js/firing-silence-form.js; the form also
        # refuses a length left unticked).
        widget=forms.TextInput(attrs={"placeholder": "e.g. 90m", "data-ticks": "custom"}),
    )
    ends_at = _DateTimeField(
        required=False,
        label="Ends at",
        input_formats=END_FORMATS,
        help_text="A date and time in the panel's time zone, at most 14 days from now.",
        widget=forms.DateTimeInput(
            format="%Y-%m-%dT%H:%M", attrs={"type": "datetime-local", "data-ticks": "until"}
        ),
        error_messages={"invalid": "Give the end as a date and time, like 2026-12-24 18:00."},
    )
    match_severity = forms.BooleanField(
        required=False,
        label="Only while it has this severity",
        help_text="Adds a severity matcher: the silence then stops covering the alert when "
        "its severity changes (a warning turning critical notifies again).",
    )
    comment = forms.CharField(
        max_length=COMMENT_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why it is silenced (a ticket, the change being made); shown to everyone. "
        f"At most {COMMENT_MAX_CHARS:,} characters.",
        error_messages={"max_length": _too_long("A comment", COMMENT_MAX_CHARS)},
    )
    alert = forms.IntegerField(
        required=False, min_value=1, max_value=PK_MAX, widget=forms.HiddenInput
    )

    def clean_matchers(self) -> list[Matcher]:
        lines = [line for line in self.cleaned_data["matchers"].splitlines() if line.strip()]
        if len(lines) > MATCHERS_MAX_LINES:
            raise forms.ValidationError(
                f"At most {MATCHERS_MAX_LINES} matchers (there are {len(lines):,}): "
                "delete the lines you do not need."
            )
        matchers, problems = [], []
        for number, line in enumerate(lines, 1):
            try:
                matchers.append(Matcher.parse(line))
            except ValueError as exc:
                problems.append(f"line {number}: {exc}")
        if problems:
            raise forms.ValidationError(problems)
        if not matchers:
            raise forms.ValidationError("Give at least one matcher.")
        # Alertmanager's own rule: a silence matching the empty string everywhere would
        # silence every alert there is.
        if all(m.matches({}) for m in matchers):
            raise forms.ValidationError(
                "At least one matcher must need a label to be set (it would silence everything)."
            )
        return matchers

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        choice = data.get("duration")
        text = "" if choice is None else choice
        if choice == "until" or data.get("ends_at"):
            return self._clean_end(data, choice)
        if choice == "custom":
            text = (data.get("custom_duration") or "").strip()
            if not text:
                self.add_error("custom_duration", "Give the duration, like 90m or 2d.")
                return data
        elif (data.get("custom_duration") or "").strip():
            # Typed a length and left a preset ticked: which one was meant is anyone's guess.
            self.add_error("custom_duration", "Tick “Custom” to use this duration, or clear it.")
            return data
        if not text:
            return data
        try:
            seconds = duration_seconds(text)
        except ValueError as exc:
            self.add_error("custom_duration" if choice == "custom" else "duration", str(exc))
            return data
        # compared as a number first: 9999999999999999999d is no timedelta at all
        length = timedelta(seconds=min(seconds, MAX_SILENCE.total_seconds() + 1))
        if length < MIN_SILENCE:
            self.add_error("custom_duration", "A silence lasts at least a minute.")
        elif length > MAX_SILENCE:
            self.add_error("custom_duration", "At most 14 days: a longer silence is forgotten.")
        else:
            data["length"] = length
        return data

    def _clean_end(self, data: dict[str, Any], choice: str | None) -> dict[str, Any]:
        ends_at = data.get("ends_at")
        if choice != "until":
            # Gave an end and left a length ticked: which one was meant is anyone's guess.
            self.add_error("ends_at", "Tick “Until a time” to end at this time, or clear it.")
            return data
        if ends_at is None:
            if "ends_at" not in self.errors:
                self.add_error("ends_at", "Give the time the silence ends.")
            return data
        now = timezone.now()
        if ends_at - now < MIN_SILENCE:
            self.add_error("ends_at", "The end must be at least a minute from now.")
        elif ends_at - now > MAX_SILENCE:
            latest = timezone.localtime(now + MAX_SILENCE)
            self.add_error(
                "ends_at",
                f"At most 14 days from now (until {latest:%Y-%m-%d %H:%M}): "
                "a longer silence is forgotten.",
            )
        else:
            data["until"] = ends_at
        return data

    @property
    def has_end(self) -> bool:
        return "length" in self.cleaned_data or "until" in self.cleaned_data

    def end(self, start: datetime) -> datetime:
        """When the silence ends: the time given, or ``start`` plus the length."""
        if "until" in self.cleaned_data:
            return self.cleaned_data["until"]
        return start + self.cleaned_data["length"]


class SilenceSourceForm(forms.Form):
    """``?alert=<id>`` of the silence form: the firing alert to prefill the matchers from;
    ``&instances=all``: on every pod and instance it fires on (its card's one silence)."""

    alert = forms.IntegerField(required=False, min_value=1, max_value=PK_MAX)
    instances = forms.ChoiceField(
        required=False, choices=[("", "this instance"), ("all", "every instance")]
    )


class ExtendSilenceForm(forms.Form):
    """``by``: how much later a silence ends (from its end, or from now if sooner)."""

    by = forms.ChoiceField(choices=EXTENSIONS)

    @property
    def length(self) -> timedelta:
        return timedelta(seconds=duration_seconds(self.cleaned_data["by"]))


class ExpireSilenceForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=COMMENT_MAX_CHARS,
        label="Why",
        help_text=f"Why it ends now; kept in the silences' history. At most {COMMENT_MAX_CHARS:,} "
        "characters.",
        error_messages={"max_length": _too_long("A reason", COMMENT_MAX_CHARS)},
    )


# --- the lists' GET parameters ----------------------------------------------------------


def query_problems(form: forms.Form) -> list[str]:
    """Each bad GET parameter by its name in the URL, with what it may be."""
    return [f"{name}: {' '.join(map(str, errors))}" for name, errors in form.errors.items()]


def _page_number(label: str) -> forms.IntegerField:
    return forms.IntegerField(
        required=False,
        min_value=1,
        max_value=PAGE_MAX,
        label=label,
        error_messages={
            "invalid": f"Give a whole page number from 1 to {PAGE_MAX:,}.",
            "min_value": f"Give a whole page number from 1 to {PAGE_MAX:,}.",
            "max_value": f"Give a whole page number from 1 to {PAGE_MAX:,}.",
        },
    )


class ListQueryForm(forms.Form):
    """The GET parameters every list shares: which page, and how many rows a page. A bad
    value answers 400 saying what is allowed, rather than showing another page than the one
    asked for: these values come from the page's own links, so a bad one is a hand-edited URL
    and its author is best told. A page past the end is the exception (see ``paging.Pager``).
    Missing or empty values take the defaults."""

    page = _page_number("Page")
    per_page = forms.IntegerField(
        required=False,
        min_value=PER_PAGE_MIN,
        max_value=PER_PAGE_MAX,
        label="Per page",
        help_text=f"{PER_PAGE_MIN} to {PER_PAGE_MAX} rows a page.",
        widget=forms.NumberInput(attrs={"placeholder": str(PER_PAGE_DEFAULT), "size": 4}),
        error_messages={
            key: f"Give a whole number of rows a page from {PER_PAGE_MIN} to {PER_PAGE_MAX}."
            for key in ("invalid", "min_value", "max_value")
        },
    )

    def clean_page(self) -> int:
        return self.cleaned_data.get("page") or 1

    def clean_per_page(self) -> int:
        return self.cleaned_data.get("per_page") or PER_PAGE_DEFAULT


ORDER_CHOICES = [
    (ListOrder.SEVERITY.value, "severity, then newest"),
    (ListOrder.NEWEST.value, "newest first"),
    (ListOrder.OLDEST.value, "oldest first"),
]
ACKNOWLEDGED_CHOICES = [("", "any"), ("yes", "acknowledged"), ("no", "not acknowledged")]


class FiringListForm(ListQueryForm):
    """The firing page: its filters apply to both lists on it; ``page`` pages the firing
    alerts and ``resolved_page`` the resolved ones."""

    resolved_page = _page_number("Page of resolved alerts")
    alertname = forms.CharField(
        required=False, max_length=200, label="Alert name contains", strip=True
    )
    severity = forms.ChoiceField(
        required=False, choices=[("", "any"), *Severity.choices], label="Severity"
    )
    tier = forms.CharField(required=False, max_length=50, label="Tier", strip=True)
    acknowledged = forms.ChoiceField(
        required=False, choices=ACKNOWLEDGED_CHOICES, label="Acknowledged"
    )
    order = forms.ChoiceField(required=False, choices=ORDER_CHOICES, label="Order")

    def clean_resolved_page(self) -> int:
        return self.cleaned_data.get("resolved_page") or 1

    def clean_order(self) -> str:
        return self.cleaned_data.get("order") or ListOrder.SEVERITY

    def filters(self) -> Q:
        """The filters as a condition on ``FiringAlert`` rows."""
        data = self.cleaned_data
        condition = Q()
        if data["alertname"]:
            condition &= Q(alertname__icontains=data["alertname"])
        if data["severity"]:
            condition &= Q(severity=data["severity"])
        if data["tier"]:
            condition &= Q(tenant_tier=data["tier"])
        if data["acknowledged"]:
            condition &= Q(acknowledged_at__isnull=data["acknowledged"] == "no")
        return condition


SILENCE_STATE_CHOICES = [("", "active or pending"), ("active", "active"), ("pending", "pending")]


class SilenceListForm(ListQueryForm):
    state = forms.ChoiceField(required=False, choices=SILENCE_STATE_CHOICES, label="State")
    created_by = forms.CharField(required=False, max_length=150, label="Created by", strip=True)


class SilenceHistoryForm(ListQueryForm):
    """The ended silences: by whom they were created or ended (contains, any case)."""

    person = forms.CharField(
        required=False, max_length=150, label="Created or ended by", strip=True
    )


NOISE_SORTS = [
    ("noise", "noisiest first"),
    ("flaps", "most flaps first"),
    ("name", "by name"),
]


class NoiseListForm(ListQueryForm):
    alert = forms.CharField(required=False, max_length=200, label="Alert contains", strip=True)
    sort = forms.ChoiceField(required=False, choices=NOISE_SORTS, label="Order")

    def clean_sort(self) -> str:
        return self.cleaned_data.get("sort") or "noise"
