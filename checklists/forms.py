"""Forms of the checklists pages: every GET parameter and posted field enters through one of
these, bounded where it enters (months from 2000 to next month, page sizes, text lengths), and
a refused value is answered with the allowed range instead of a traceback."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib.auth.models import User

from checklists.choices import Cadence, RunStatus
from core.paging import PageForm

# The SLA report's months: the panel's data starts long after 2000; a year such as 9999 or 1
# only ever came from a hand-edited link, and made the month arithmetic overflow.
EARLIEST_MONTH = date(2000, 1, 1)
# Free text typed on a run's page. The item's note lands in the audit line beside the item's
# title; a run note is the correction of a signed record, so it may say more.
ITEM_NOTE_LENGTH = 500
REASON_LENGTH = 500
RUN_NOTE_LENGTH = 2000
# The history's status filter also offers open runs past their due time.
OVERDUE = "overdue"


def _first_of_next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _text(label: str, limit: int, *, required: bool, help_text: str, **kwargs: Any) -> Any:
    return forms.CharField(
        required=required,
        max_length=limit,
        label=label,
        help_text=help_text,
        error_messages={
            "max_length": f"{label} is at most {limit:,} characters (this one has %(show_value)d).",
            **kwargs.pop("error_messages", {}),
        },
        **kwargs,
    )


def errors_text(form: forms.Form) -> str:
    """Every error of a refused form in one line, each after its field's label."""
    parts = []
    for name, errors in form.errors.items():
        label = str(form.fields[name].label or "") if name in form.fields else ""
        for error in map(str, errors):
            parts.append(f"{label}: {error}" if label and not error.startswith(label) else error)
    return " ".join(parts)


class SlaMonthForm(forms.Form):
    """``?month=YYYY-MM`` of the SLA report: from 2000-01 to next month."""

    month = forms.DateField(
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput(format="%Y-%m", attrs={"type": "month"}),
    )

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.latest = _first_of_next_month(today)
        self.range_text = f"a month from {EARLIEST_MONTH:%Y-%m} to {self.latest:%Y-%m}"
        field = self.fields["month"]
        field.help_text = f"Written like 2026-03: {self.range_text}."
        field.error_messages["invalid"] = f"Month must be {self.range_text}, written like 2026-03."
        field.widget.attrs.update(min=f"{EARLIEST_MONTH:%Y-%m}", max=f"{self.latest:%Y-%m}")

    def clean_month(self) -> date | None:
        month: date | None = self.cleaned_data.get("month")
        if month is None:
            return None
        if not EARLIEST_MONTH <= month <= self.latest:
            raise forms.ValidationError(self.fields["month"].error_messages["invalid"])
        return month.replace(day=1)


class HistoryForm(PageForm):
    """The filters and the page of the checklist runs' history."""

    cadence = forms.ChoiceField(
        required=False,
        choices=[("", "any"), *Cadence.choices],
        error_messages={"invalid_choice": "Cadence must be one of: " + ", ".join(Cadence.values)},
    )
    status = forms.ChoiceField(
        required=False,
        choices=[("", "any"), *RunStatus.choices, (OVERDUE, "Overdue")],
        error_messages={
            "invalid_choice": "Status must be one of: " + ", ".join([*RunStatus.values, OVERDUE])
        },
    )


class CheckItemForm(forms.Form):
    note = _text(
        "Note",
        ITEM_NOTE_LENGTH,
        required=False,
        help_text=f"Optional, at most {ITEM_NOTE_LENGTH} characters.",
    )


class NotApplicableForm(forms.Form):
    reason = _text(
        "Reason",
        REASON_LENGTH,
        required=True,
        help_text=f"Why it does not apply, at most {REASON_LENGTH} characters.",
        error_messages={"required": "Say why the item does not apply."},
    )


class RunNoteForm(forms.Form):
    text = _text(
        "Note",
        RUN_NOTE_LENGTH,
        required=True,
        help_text=f"At most {RUN_NOTE_LENGTH:,} characters.",
        error_messages={"required": "A note needs some text."},
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class OwnerForm(forms.Form):
    """The owner of a run: an active user, or nobody."""

    owner = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        label="Owner",
        error_messages={"invalid_choice": "Choose an active person from the list, or nobody."},
    )
