"""Forms of the incident pages: the list's filter and page, and the three things an SRE
writes (open, note, close). Every text is bounded where it enters, its limit said beside its
field, and Django's CharField refuses NUL characters."""

from __future__ import annotations

from typing import Any

from django import forms

from alerts.models import Alert
from core.paging import PageForm
from incidents.actions import NOTE_LENGTH, SUMMARY_LENGTH
from incidents.choices import ListFilter
from incidents.models import TITLE_LENGTH


def _text(label: str, limit: int, *, required: bool, **kwargs: Any) -> Any:
    return forms.CharField(
        label=label,
        required=required,
        max_length=limit,
        strip=True,
        help_text=f"Up to {limit:,} characters.",
        error_messages={
            "max_length": f"{label} is at most {limit:,} characters (this one has %(show_value)d).",
            "required": f"{label} is required.",
            **kwargs.pop("error_messages", {}),
        },
        **kwargs,
    )


class IncidentListForm(PageForm):
    """``?status=open|closed`` and the page."""

    status = forms.ChoiceField(
        choices=ListFilter.choices,
        required=False,
        error_messages={"invalid_choice": "Status is open, closed or empty (every incident)."},
    )


class OpenIncidentForm(forms.Form):
    title = _text("Title", TITLE_LENGTH, required=True)
    alert = forms.ModelChoiceField(
        queryset=Alert.objects.order_by("name"),
        required=False,
        to_field_name="name",
        empty_label="none",
        help_text="Its checks in warning or critical join now, and its later breaches too.",
    )
    note = _text("Note", NOTE_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class NoteForm(forms.Form):
    text = _text("Note", NOTE_LENGTH, required=True, widget=forms.Textarea(attrs={"rows": 3}))


class CloseForm(forms.Form):
    summary = _text(
        "Summary",
        SUMMARY_LENGTH,
        required=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say in the summary what happened and what fixed it."},
    )
