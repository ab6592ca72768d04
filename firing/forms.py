"""Forms of the Alertmanager loop: acknowledging a firing alert and silencing alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms

from core.promql import duration_seconds
from firing.models import FiringAlert
from integrations.alertmanager import Matcher

DURATIONS = [("1h", "1 hour"), ("4h", "4 hours"), ("24h", "24 hours"), ("custom", "Custom")]
# A silence longer than this is a forgotten silence; change the rule or the threshold instead.
MAX_SILENCE = timedelta(days=14)
# Labels a silence from an alert starts with, in this order; the alert's other labels follow.
LEADING_LABELS = ("alertname", "severity", "tenant_tier")


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(
        max_length=2000,
        widget=forms.TextInput(attrs={"placeholder": "Looking into it: what you are doing"}),
        help_text="Say what you are doing about it; the next person on call reads this.",
    )


def matchers_for(alert: FiringAlert) -> list[Matcher]:
    """Equality matchers on every label of the alert, the leading ones first: together they
    silence exactly this alert; delete lines to silence more."""
    labels = alert.labels
    names = [n for n in LEADING_LABELS if n in labels]
    names += sorted(n for n in labels if n not in LEADING_LABELS)
    return [Matcher(name, str(labels[name])) for name in names]


class SilenceForm(forms.Form):
    matchers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text='One per line: name="value", name!="value", name=~"regex" or name!~"regex". '
        "An alert is silenced when every line matches it.",
    )
    duration = forms.ChoiceField(choices=DURATIONS, initial="1h", widget=forms.RadioSelect)
    custom_duration = forms.CharField(
        required=False,
        max_length=20,
        label="Custom duration",
        help_text="Like 90m, 2h30m or 3d (at most 14 days).",
        widget=forms.TextInput(
            # Typing a length ticks "Custom" (the form also refuses a length left unticked).
            attrs={"placeholder": "e.g. 90m", "oninput": "this.form.duration.value='custom'"}
        ),
    )
    comment = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why it is silenced (a ticket, the change being made); shown to everyone.",
    )
    alert = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean_matchers(self) -> list[Matcher]:
        lines = [line for line in self.cleaned_data["matchers"].splitlines() if line.strip()]
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
            length = timedelta(seconds=duration_seconds(text))
        except ValueError as exc:
            self.add_error("custom_duration" if choice == "custom" else "duration", str(exc))
            return data
        if length < timedelta(minutes=1):
            self.add_error("custom_duration", "A silence lasts at least a minute.")
        elif length > MAX_SILENCE:
            self.add_error("custom_duration", "At most 14 days: a longer silence is forgotten.")
        else:
            data["length"] = length
        return data
