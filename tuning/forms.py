"""Admin forms of the tuning workflow. Every message is put on the field it is about; nothing is
saved while one remains."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator
from django.db.models import Q
from django.utils.html import format_html
from django.utils.safestring import SafeString

from alerts.evaluation import Rule
from alerts.models import Alert, Threshold, TuningNote
from alerts.threshold_rules import Kind, Problem, level_problems
from core import formatting, units
from core.choices import Direction, Severity
from core.promql import SCOPE_PLACEHOLDER, duration_seconds, scope_matchers
from metrics.models import Metric
from runbooks.models import Runbook
from tuning.validation import check_promql

ALERT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
THRESHOLD_KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_-]+)*$")
# A relative threshold compares with a past window: an hour at least (shorter is noise), a
# quarter at most (longer outlives the retention).
RELATIVE_MIN, RELATIVE_MAX = 3600, 92 * 86400

NOTE_HELP = (
    "Why this change: what you saw, what you expect (required; it is kept with the change, "
    "the playbook's alert-tuning process)."
)


# A sustained-for beyond a day is a threshold that never alerts in time; Prometheus's rule
# and the backtest's replay are both sized by it.
MAX_FOR = 86400
# Free text and queries: clear limits, said next to the field.
NOTE_MAX = 2000
QUERY_MAX = 4000


def _duration(value: str, *, maximum: float | None = None, limit_text: str = "") -> str:
    value = (value or "").strip()
    if not value:
        raise forms.ValidationError("Give a duration such as 0s (at once), 30s, 5m or 1h.")
    if len(value) > 20:
        raise forms.ValidationError("A duration is at most 20 characters, like 1h30m.")
    try:
        seconds = duration_seconds(value)
    except ValueError as exc:
        raise forms.ValidationError(f"{exc}.", code="duration") from exc
    if maximum is not None and seconds > maximum:
        raise forms.ValidationError(f"At most {limit_text} ({value} given).", code="too_long")
    return value


def _limit(field: forms.Field, limit: int) -> None:
    """Bound a text field a model leaves unbounded, and say so beside it."""
    assert isinstance(field, forms.CharField)
    field.max_length = limit
    field.validators.append(MaxLengthValidator(limit))
    field.widget.attrs["maxlength"] = str(limit)
    field.help_text = f"{field.help_text} At most {limit:,} characters.".strip()


def _note_field(label: str, help_text: str = "", rows: int = 3) -> forms.CharField:
    """A required note with its limit said beside it."""
    limit = f"At most {NOTE_MAX:,} characters."
    return forms.CharField(
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": rows, "cols": 80}),
        help_text=f"{help_text} {limit}".strip(),
        label=label,
    )


LEVELS = ("warning", "critical")
LEVEL_MAX = 30  # "1,234,567.891 ms", "1w2d3h4m5s" fit
UNKNOWN_UNIT_HELP = (
    "In the metric's display unit: ms for a latency, % for a percentage or a ratio, a duration "
    "such as 26h for an age, a percent change for a relative threshold."
)
CONFIRM_LABEL = "Save anyway"


class UnitInput(forms.TextInput):
    """A level's input with its display unit written after it ("ms", "%", "h")."""

    def __init__(self, symbol: str = "", attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"size": 12, **(attrs or {})})
        self.symbol = symbol

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        field = super().render(name, value, attrs, renderer)
        if not self.symbol:
            return field
        return format_html(
            '{} <span class="level-unit" data-testid="unit-{}">{}</span>', field, name, self.symbol
        )


def level_help(name: str, unit: str | None) -> str:
    """What a level field takes, in words: "The warning level, in ms."."""
    if unit is None:
        return UNKNOWN_UNIT_HELP
    shown = units.display_unit(unit)
    if shown.is_duration:
        return f"The {name} level, as a duration such as 26h, 90m or 2d (a number alone is hours)."
    if unit == units.PERCENT_CHANGE:
        return f"The {name} level, in % change against the past window (-10 means 10 % below)."
    where = f", in {shown.symbol}" if shown.symbol else ""
    return f"The {name} level{where}."


def level_field(name: str, *, required: bool) -> forms.CharField:
    return forms.CharField(
        label=name.capitalize(),
        required=required,
        max_length=LEVEL_MAX,
        widget=UnitInput(attrs={"maxlength": str(LEVEL_MAX)}),
        help_text=UNKNOWN_UNIT_HELP,
    )


def parse_levels(form: forms.BaseForm, data: dict[str, Any], unit: str) -> list[str]:
    """The typed levels (display unit) of ``data`` as base values, in place; a level that does
    not parse gets its message and leaves ``data``. Returns the names parsed."""
    parsed = []
    for name in LEVELS:
        if name not in data:
            continue  # its own error is shown already
        text = (data[name] or "").strip()
        if not text:
            data[name] = None
            continue
        try:
            data[name] = units.parse_input(text, unit)
        except ValueError as exc:
            form.add_error(name, f"{exc}.")
            continue
        parsed.append(name)
    return parsed


def show_units(form: forms.BaseForm, unit: str | None) -> None:
    """Write the levels' display unit beside their inputs and in their help."""
    for name in LEVELS:
        field = form.fields[name]
        assert isinstance(field.widget, UnitInput)
        shown = units.display_unit(unit) if unit is not None else None
        # a duration carries its unit in what is typed ("26h"): nothing to write after it
        field.widget.symbol = "" if shown is None or shown.is_duration else shown.symbol
        field.help_text = level_help(name, unit)


class ThresholdTuningForm(forms.ModelForm):
    """A threshold's levels typed and shown in the display unit of its metric (ms, %, 26h) and
    stored in Prometheus's base unit (seconds, ratios). A changed level that is unusual for
    its unit (a latency of 250 s) is refused once, with a "Save anyway" box to keep it."""

    warning = level_field("warning", required=True)
    critical = level_field("critical", required=False)
    confirm_unusual = forms.BooleanField(
        required=False,
        label=CONFIRM_LABEL,
        widget=forms.HiddenInput,  # shown when a level needs it
        help_text="A level above is unusual for its unit: tick to keep it as typed.",
    )
    tuning_note = _note_field("Alert-tuning note", NOTE_HELP)

    class Meta:
        model = Threshold
        fields = [
            "key",
            "metric",
            "alert",
            "scope",
            "direction",
            "warning",
            "critical",
            "for_warning",
            "for_critical",
            "relative_to",
        ]
        help_texts = {
            "scope": 'Labels the check is kept to, e.g. {"tenant_tier": "enterprise"}; {} for all.',
            "for_warning": "How long the warning level must hold: 0s, 30s, 5m, 1h (at most 1d).",
            "for_critical": "How long the critical level must hold (at most 1d).",
            "relative_to": (
                "Leave empty for an absolute threshold; a past window such as 7d or 30d makes "
                "the levels percent changes against it (-10 means 10 % below)."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance
        # what is in force, before this form's values are put on the instance
        self.stored: dict[str, Any] = instance.current_values() if instance.pk else {}
        self.stored_unit: str | None = None
        if instance.metric_id is not None:
            self.stored_unit = units.level_unit(instance.metric.unit, bool(instance.relative_to))
        if self.stored:
            assert self.stored_unit is not None
            for name in LEVELS:
                self.initial[name] = units.input_text(self.stored[name], self.stored_unit)
        show_units(self, self.stored_unit)

    def has_value_changes(self) -> bool:
        """True when a value in force changes (the note alone is kept as a tuning note)."""
        return self.instance.current_values() != self.stored

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if not THRESHOLD_KEY.match(key):
            raise forms.ValidationError(
                "Use lower-case letters, digits and underscores, with dots between parts, "
                "like api_p95_latency.enterprise."
            )
        return str(key)

    def clean_for_warning(self) -> str:
        return _duration(self.cleaned_data.get("for_warning", ""), maximum=MAX_FOR, limit_text="1d")

    def clean_for_critical(self) -> str:
        return _duration(
            self.cleaned_data.get("for_critical", ""), maximum=MAX_FOR, limit_text="1d"
        )

    def clean_relative_to(self) -> str:
        value = (self.cleaned_data.get("relative_to") or "").strip()
        if not value:
            return ""
        seconds = duration_seconds(_duration(value))
        if not RELATIVE_MIN <= seconds <= RELATIVE_MAX:
            raise forms.ValidationError(
                "Compare with a window between 1h and 92d (7d for the same time last week, "
                "30d for last month)."
            )
        return value

    def clean_scope(self) -> dict[str, str]:
        scope = self.cleaned_data.get("scope") or {}
        if not isinstance(scope, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and LABEL_NAME.match(k)
            for k, v in scope.items()
        ):
            raise forms.ValidationError(
                'A scope is an object of label names to values, e.g. {"tenant_tier": "team"}.'
            )
        return scope

    def _level_unit(self, data: dict[str, Any]) -> str | None:
        metric = data.get("metric") or (self.instance.metric if self.instance.metric_id else None)
        if metric is None:
            return None
        relative_to = data.get("relative_to", self.instance.relative_to)
        return units.level_unit(metric.unit, bool(relative_to))

    def _clean_levels(self, data: dict[str, Any]) -> list[tuple[str, str]]:
        """The typed levels as base values; a level typed as it was shown keeps its stored
        value exactly (no round trip through the display unit). Returns the changed levels
        unusual for their unit and not confirmed, with the question to ask about each."""
        unit = self._level_unit(data)
        show_units(self, unit)
        if unit is None:
            for name in LEVELS:
                data.pop(name, None)  # the metric's own error says what is missing
            return []
        typed = {name: (data.get(name) or "").strip() for name in LEVELS}
        parsed = parse_levels(self, data, unit)
        if unit == self.stored_unit:
            for name in LEVELS:
                if name in data and typed[name] == self.initial.get(name):
                    data[name] = self.stored[name]
        unusual = [
            (name, formatting.unusual(data[name], unit))
            for name in parsed
            if data[name] != self.stored.get(name)
        ]
        unusual = [(name, why) for name, why in unusual if why]
        if data.get("confirm_unusual"):
            return []
        return unusual

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        unusual = self._clean_levels(data)
        direction = data.get("direction")
        warning, critical = data.get("warning"), data.get("critical")
        metric, scope, alert = data.get("metric"), data.get("scope") or {}, data.get("alert")
        group_by = metric.group_by if metric is not None else list(scope)
        problems = level_problems(
            direction=direction,
            warning=warning,
            critical=critical,
            is_relative=bool(data.get("relative_to")),
            scope=scope,
            group_by=group_by,
            severities=alert.severities if alert is not None else None,
        )
        for problem in problems:
            self.add_error(problem.field, self._say(problem, data))
        if unusual:
            # asked after the other rules, which judge the level as typed (it may be kept)
            self.fields["confirm_unusual"].widget = forms.CheckboxInput()
            for name, why in unusual:
                self.add_error(name, f"{why}: tick “{CONFIRM_LABEL}” to keep it.")
        alert = data.get("alert")
        if alert is not None and self.instance.pk is None and not _has_runbook(alert):
            # The playbook's principle: every alert has a clear response procedure. An alert
            # is enabled by its first threshold, which exports its rules.
            self.add_error(
                "alert",
                f"{alert.name} has no runbook yet. Add its response procedure (Runbooks > "
                f"Add, named {alert.name}) first: an alert without one is never enabled.",
            )
        return data

    def _say(self, problem: Problem, data: dict[str, Any]) -> str:
        warning, alert, metric = data.get("warning"), data.get("alert"), data.get("metric")
        if problem.kind == Kind.ORDER:
            unit = self._level_unit(data) or ""
            shown = formatting.level(warning, unit)
            if data.get("direction") == Direction.ABOVE:
                return f"With “above”, critical must be higher than warning ({shown})."
            return f"With “below”, critical must be lower than warning ({shown})."
        if problem.kind == Kind.RELATIVE_SIGN:
            if data.get("direction") == Direction.BELOW:
                return "A relative threshold on a drop is a negative percent change, e.g. -10."
            return "A relative threshold on a rise is a positive percent change, e.g. 20."
        if problem.kind == Kind.UNKNOWN_SCOPE:
            assert metric is not None
            shown = ", ".join(metric.group_by) or "none"
            return (
                f"{metric.key} has no {', '.join(problem.labels)} label in its result "
                f"(it groups by: {shown}); such a scope would match nothing."
            )
        assert alert is not None
        return f"{alert.name} has no critical severity."


def _has_runbook(alert: Alert) -> bool:
    return Runbook.objects.filter(Q(alert=alert) | Q(name=alert.name)).exists()


class AlertForm(forms.ModelForm):
    tuning_note = _note_field("Alert-tuning note", NOTE_HELP, rows=2)
    severities = forms.MultipleChoiceField(
        choices=Severity.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[Severity.WARNING, Severity.CRITICAL],
    )

    class Meta:
        model = Alert
        fields = ["name", "summary", "severities", "service"]
        help_texts = {
            "name": "The Prometheus alert name, e.g. LeanVibeHighQueueDepth.",
            "service": "The service label of the exported rules, e.g. leanvibe-backend.",
        }

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if not ALERT_NAME.match(name):
            raise forms.ValidationError(
                "An alert name is letters, digits and underscores, not starting with a digit."
            )
        return str(name)


class MetricForm(forms.ModelForm):
    """A metric for a new alert (the playbook's "Adding New Alerts"): its PromQL is run by
    Prometheus before it is saved."""

    class Meta:
        model = Metric
        fields = [
            "key",
            "name",
            "category",
            "unit",
            "query",
            "volume_query",
            "min_volume",
            "group_by",
            "scoped_query",
            "description",
            "impact",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("query", "volume_query", "scoped_query"):
            _limit(self.fields[name], QUERY_MAX)
        for name in ("description", "impact"):
            _limit(self.fields[name], NOTE_MAX)

    def clean_query(self) -> str:
        query = self.cleaned_data["query"].strip()
        problem = check_promql(query)
        if problem:
            raise forms.ValidationError(problem)
        return str(query)

    def clean_volume_query(self) -> str:
        query = (self.cleaned_data.get("volume_query") or "").strip()
        if query:
            problem = check_promql(query)
            if problem:
                raise forms.ValidationError(problem)
        return query

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        has_query = bool(data.get("volume_query"))
        has_minimum = data.get("min_volume") is not None
        if has_query != has_minimum:
            # one without the other: the panel would never judge it, or Prometheus always would
            self.add_error(
                "min_volume" if has_query else "volume_query",
                "A minimum-volume guard needs both the traffic query and its minimum.",
            )
        if "group_by" in data:  # else its own error is shown and nothing can be checked
            self._check_scoped_query(data)
        return data

    def _check_scoped_query(self, data: dict[str, Any]) -> None:
        """A scoped query says where the scope goes, names labels the metric groups by, and
        runs in Prometheus with a scope put in."""
        scoped = (data.get("scoped_query") or "").strip()
        data["scoped_query"] = scoped
        if not scoped:
            return
        group_by = data.get("group_by") or []
        if SCOPE_PLACEHOLDER not in scoped:
            self.add_error(
                "scoped_query", f"Say where the scope's matchers go: {SCOPE_PLACEHOLDER}."
            )
        elif not group_by:
            self.add_error(
                "scoped_query", "A scoped query needs the labels a scope names (group by)."
            )
        else:
            sample = scoped.replace(SCOPE_PLACEHOLDER, scope_matchers(dict.fromkeys(group_by, "x")))
            problem = check_promql(sample)
            if problem:
                self.add_error("scoped_query", problem)

    def clean_group_by(self) -> list[str]:
        value = self.cleaned_data.get("group_by") or []
        if not isinstance(value, list) or not all(
            isinstance(v, str) and LABEL_NAME.match(v) for v in value
        ):
            raise forms.ValidationError('A list of label names, e.g. ["tenant_tier"].')
        return value


class TuningNoteForm(forms.ModelForm):
    """A note on an alert that changes nothing ("fired during the 20 Nov incident: real")."""

    class Meta:
        model = TuningNote
        fields = ["alert", "threshold", "note"]
        help_texts = {
            "threshold": "Optional: the threshold the note is about.",
            "note": "What you validated: was the alert real, did it reach the right people? "
            f"At most {NOTE_MAX:,} characters.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit(self.fields["note"], NOTE_MAX)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        alert, threshold = data.get("alert"), data.get("threshold")
        if alert is not None and threshold is not None and threshold.alert_id != alert.pk:
            self.add_error("threshold", f"{threshold.key} belongs to {threshold.alert}.")
        return data


class RestoreForm(forms.Form):
    note = _note_field("Why restore this version", rows=2)


# A backtest replays 30 days: a sustained-for longer than that could never fire in it, and an
# unbounded one made the replay allocate without end (a GET, so no CSRF token stops it).
BACKTEST_MAX_FOR = 30 * 86400


class BacktestForm(forms.Form):
    """The levels typed in the change form (not saved, in the display unit as typed there), as
    the backtest's GET parameters. Every value that sizes the replay is bounded here, where it
    enters; a level unusual for its unit is replayed, and said (``unusual``)."""

    direction = forms.ChoiceField(choices=Direction.choices, required=False)
    warning = forms.CharField(max_length=LEVEL_MAX)
    critical = forms.CharField(required=False, max_length=LEVEL_MAX)
    for_warning = forms.CharField(required=False, max_length=20)
    for_critical = forms.CharField(required=False, max_length=20)
    relative_to = forms.CharField(required=False, max_length=20)
    opened = forms.FloatField(required=False)

    def __init__(self, data: Any, *, threshold: Threshold) -> None:
        super().__init__(data)
        self.threshold = threshold
        self.unit = units.level_unit(threshold.metric.unit, bool(threshold.relative_to))
        self.unusual: list[str] = []

    def _for(self, name: str) -> float:
        text = (self.cleaned_data.get(name) or "").strip() or getattr(self.threshold, name)
        try:
            seconds = duration_seconds(text)
        except ValueError as exc:
            raise forms.ValidationError({name: f"{exc}."}) from exc
        if seconds > BACKTEST_MAX_FOR:
            raise forms.ValidationError(
                {name: f"At most 30d: the backtest replays 30 days ({text} given)."}
            )
        return seconds

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        relative_to = (data.get("relative_to") or "").strip()
        if "relative_to" in self.data and relative_to != self.threshold.relative_to:
            raise forms.ValidationError(
                "the backtest compares levels of the same kind; save the change of "
                "“relative to” first, then backtest its levels"
            )
        data["for_warning_seconds"] = self._for("for_warning")
        data["for_critical_seconds"] = self._for("for_critical")
        typed = {name: (data.get(name) or "").strip() for name in LEVELS}
        for name in parse_levels(self, data, self.unit):
            stored = getattr(self.threshold, name)
            if typed[name] == units.input_text(stored, self.unit):
                data[name] = stored  # as shown in the form: the level in force, exactly
            why = formatting.unusual(data[name], self.unit)
            if why:
                self.unusual.append(f"{name} {why}")
        return data

    def rule(self) -> Rule:
        data = self.cleaned_data
        return Rule(
            data.get("direction") or self.threshold.direction,
            data["warning"],
            data.get("critical"),
            data["for_warning_seconds"],
            data["for_critical_seconds"],
        )

    def problem(self) -> str:
        """The form's errors as one sentence for the backtest panel."""
        parts = []
        for field, errors in self.errors.items():
            label = "" if field == "__all__" else f"{field.replace('_', ' ')}: "
            parts += [f"{label}{e}".rstrip(".") for e in errors]
        return "; ".join(parts)
