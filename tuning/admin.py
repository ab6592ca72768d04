"""Threshold tuning in the admin: a note for every change, its history with diffs and restore,
notes that change nothing, new alerts and metrics, and a backtest of a proposed threshold on the
change form."""

from __future__ import annotations

import time
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST

from alerts.evaluation import Rule
from alerts.models import Alert, Check, Threshold, TuningNote
from core import formatting, units
from core.choices import COMPARATOR, State, badness_rank
from core.paging import PageForm
from core.promql import duration_seconds
from integrations import prometheus
from metrics import charts
from metrics.models import Metric
from tuning import actions as tuning
from tuning import backtest
from tuning.forms import (
    NOTE_MAX,
    AlertForm,
    BacktestForm,
    MetricForm,
    RestoreForm,
    ThresholdTuningForm,
    TuningNoteForm,
)

# Seconds a backtest may spend on Prometheus (30 days of one metric, cold, took up to 2.3 s).
BACKTEST_BUDGET = 10.0


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """New alerts are added here, as the playbook's "Adding New Alerts" describes; a threshold
    on a metric then gives them their levels."""

    form = AlertForm
    list_display = ["name", "summary", "service", "severities"]
    search_fields = ["name", "summary"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["name"] if obj else []  # rules, notes and silences refer to it by name

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Alert, form: Any, change: bool) -> None:
        tuning.save_alert(
            obj, actor=request.user, note=form.cleaned_data["tuning_note"], is_new=not change
        )


class TierFilter(admin.SimpleListFilter):
    title = "tier"
    parameter_name = "tier"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        tiers = sorted(
            {t.scope["tenant_tier"] for t in Threshold.objects.all() if "tenant_tier" in t.scope}
        )
        return [("none", "No tier"), *((tier, tier) for tier in tiers)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Threshold]) -> QuerySet[Threshold]:
        value = self.value()
        if value is None:
            return queryset
        keep = [
            t.pk
            for t in queryset
            if t.scope.get("tenant_tier") == value
            or (value == "none" and "tenant_tier" not in t.scope)
        ]
        return queryset.filter(pk__in=keep)


class StateFilter(admin.SimpleListFilter):
    title = "current state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(state.value, state.label) for state in State]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Threshold]) -> QuerySet[Threshold]:
        value = self.value()
        return queryset.filter(checks__state=value).distinct() if value else queryset


@admin.register(Threshold)
class ThresholdAdmin(admin.ModelAdmin):
    """Tuning: every save needs an alert-tuning note and is recorded with its author and the
    values before and after; the change form backtests the proposed levels first."""

    form = ThresholdTuningForm
    change_form_template = "admin/alerts/threshold/change_form.html"
    # Levels with their unit and their sustained-for in one cell each, so that the list fits
    # 1,280 px beside its filters (eleven bare columns hid Critical, For and Tuned under them).
    list_display = [
        "key",
        "alert",
        "category",
        "current_state",
        "current_value",
        "warning_level",
        "critical_level",
        "compared_with",
        "tuned",
    ]
    list_filter = [
        ("metric__category", admin.ChoicesFieldListFilter),
        TierFilter,
        StateFilter,
        "alert",
    ]
    search_fields = ["key", "alert__name", "metric__name"]
    list_select_related = ["alert", "metric"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Threshold]:
        return super().get_queryset(request).prefetch_related("checks")

    fieldsets = [
        ("What it watches", {"fields": ["key", "metric", "alert", "scope"]}),
        (
            "Levels",
            {
                "fields": [
                    "direction",
                    "warning",
                    "critical",
                    "confirm_unusual",
                    "for_warning",
                    "for_critical",
                    "relative_to",
                ]
            },
        ),
        ("Why", {"fields": ["tuning_note"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # What a threshold is about is fixed once it exists; a different metric or scope is a
        # different threshold (and a different history).
        return ["key", "metric", "alert", "scope"] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="category", ordering="metric__category")
    def category(self, obj: Threshold) -> str:
        return obj.metric.get_category_display()

    def _worst(self, obj: Threshold) -> Check | None:
        checks = list(obj.checks.all())
        return min(checks, key=lambda c: badness_rank(c.state), default=None)

    @admin.display(description="state")
    def current_state(self, obj: Threshold) -> str:
        worst = self._worst(obj)
        if worst is None:
            return "not evaluated yet"
        count = len(obj.checks.all())
        return f"{State(worst.state).label}" + (f" (worst of {count})" if count > 1 else "")

    @admin.display(description="value")
    def current_value(self, obj: Threshold) -> str:
        worst = self._worst(obj)
        if worst is None:
            return "-"
        return formatting.with_unit(worst.value, level_unit(obj))

    def _level(self, obj: Threshold, value: float | None, hold: str) -> str:
        if value is None:
            return "-"
        sign = COMPARATOR[obj.direction]
        level = formatting.exact_level(value, level_unit(obj))
        if not duration_seconds(hold):
            return f"{sign} {level}"
        return format_html('{} {}<span class="level-for"> for {}</span>', sign, level, hold)

    @admin.display(description="warning", ordering="warning")
    def warning_level(self, obj: Threshold) -> str:
        return self._level(obj, obj.warning, obj.for_warning)

    @admin.display(description="critical", ordering="critical")
    def critical_level(self, obj: Threshold) -> str:
        return self._level(obj, obj.critical, obj.for_critical)

    @admin.display(description="relative to", ordering="relative_to")
    def compared_with(self, obj: Threshold) -> str:
        return f"{obj.relative_to} earlier" if obj.relative_to else "-"

    @admin.display(description="tuned", boolean=True)
    def tuned(self, obj: Threshold) -> bool:
        return obj.is_tuned

    def save_model(self, request: HttpRequest, obj: Threshold, form: Any, change: bool) -> None:
        note = form.cleaned_data["tuning_note"]
        if change and not form.has_value_changes():
            tuning.add_note(obj.alert, actor=request.user, note=note, threshold=obj)
            messages.info(request, "No value changed: your note was kept as a tuning note.")
            return
        tuning.save_threshold(obj, actor=request.user, note=note, is_new=not change)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra = {**(extra_context or {}), "opened": int(time.time())}
        return super().change_view(request, object_id, form_url, extra)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:pk>/tuning/",
                self.admin_site.admin_view(self.tuning_history),
                name="alerts_threshold_tuning",
            ),
            path(
                "<int:pk>/tuning/<int:note_pk>/restore/",
                self.admin_site.admin_view(self.restore),
                name="alerts_threshold_restore",
            ),
            path(
                "<int:pk>/backtest/",
                self.admin_site.admin_view(self.backtest_view),
                name="alerts_threshold_backtest",
            ),
        ]
        return own + super().get_urls()

    def _threshold(self, request: HttpRequest, pk: int, *, change: bool = False) -> Threshold:
        threshold = get_object_or_404(Threshold.objects.select_related("metric", "alert"), pk=pk)
        allowed = (
            self.has_change_permission(request, threshold)
            if change
            else self.has_view_permission(request, threshold)
        )
        if not allowed:
            raise PermissionDenied
        return threshold

    @staticmethod
    def _notes(threshold: Threshold) -> QuerySet[TuningNote]:
        """The threshold's own changes and notes, and the notes on its alert as a whole."""
        return TuningNote.objects.filter(
            Q(threshold=threshold) | Q(threshold__isnull=True), alert=threshold.alert
        ).select_related("author")

    @method_decorator(require_GET)
    def tuning_history(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The threshold's versions and notes, newest first, a page at a time."""
        threshold = self._threshold(request, pk)
        form = PageForm(request.GET)
        page = form.paginate(self._notes(threshold)) if form.is_valid() else None
        current = threshold.current_values()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Tuning history of {threshold.key}",
            "threshold": threshold,
            "form": form,
            "page": page,
            # a version can be restored when its values are not the ones in force now
            "notes": [
                (
                    note,
                    bool(note.after) and note.after != current,
                    bool(note.before) and note.before != current,
                    value_diff(note, threshold.metric.unit),
                )
                for note in (page.object_list if page is not None else [])
            ],
            "restore_form": RestoreForm(),
            "note_limit": NOTE_MAX,
            "can_change": self.has_change_permission(request, threshold),
        }
        return render(
            request,
            "admin/alerts/threshold/tuning_history.html",
            context,
            status=200 if page is not None else 400,
        )

    @method_decorator(require_POST)
    def restore(self, request: HttpRequest, pk: int, note_pk: int) -> HttpResponse:
        threshold = self._threshold(request, pk, change=True)
        record = get_object_or_404(TuningNote, pk=note_pk, threshold=threshold)
        form = RestoreForm(request.POST)
        history = reverse("admin:alerts_threshold_tuning", args=[pk])
        if not form.is_valid():
            problems = " ".join(str(error) for error in form.errors["note"])
            messages.error(request, f"Say why you restore this version: {problems}")
            return HttpResponseRedirect(history)
        try:
            tuning.restore_version(
                record,
                actor=request.user,
                note=form.cleaned_data["note"],
                which="before" if request.POST.get("which") == "before" else "after",
            )
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request, f"Restored the values of {record.at:%Y-%m-%d %H:%M} for {threshold.key}."
            )
        return HttpResponseRedirect(history)

    @method_decorator(require_GET)
    def backtest_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The htmx fragment under the change form: the current and the proposed levels
        replayed over the last 1, 7 and 30 days."""
        threshold = self._threshold(request, pk)
        context: dict[str, Any] = {"threshold": threshold, "unit": level_unit(threshold)}
        form = BacktestForm(request.GET, threshold=threshold)
        if not form.is_valid():
            context["problem"] = form.problem()
            return render(request, "admin/alerts/threshold/_backtest.html", context, status=400)
        proposed = form.rule()
        outcome = backtest.backtest(
            threshold, proposed, now=_opened_at(form.cleaned_data["opened"])
        )
        current = threshold.rule()
        lines = _level_lines(current, proposed)
        figure = None
        if outcome.series:
            unit = "percent" if threshold.relative_to else threshold.metric.unit
            result = prometheus.RangeResult(threshold.metric.query, tuple(outcome.series))
            # every level on the axis: the current and the proposed are compared
            figure = charts.trend_figure(result, unit, lines, every_level=True)
            # proposed levels solid, current dashed
            for shape, line in zip(figure["layout"]["shapes"], lines, strict=True):
                shape["line"]["dash"] = "dash" if line.name.startswith("current") else "solid"
        context.update(
            unusual=form.unusual,
            outcome=outcome,
            current=current,
            proposed=proposed,
            figure=figure,
            evaluated_at=timezone.now(),
        )
        return render(request, "admin/alerts/threshold/_backtest.html", context)


def level_unit(threshold: Threshold) -> str:
    """The unit a threshold's levels and value are shown in (a percent change when relative)."""
    return units.level_unit(threshold.metric.unit, bool(threshold.relative_to))


def value_diff(note: TuningNote, unit: str | None) -> list[tuple[str, str, str]]:
    """(field, before, after) of a recorded change, in the display unit of the threshold's
    metric (``unit``; None for a note on an alert): "warning 200 ms → 250 ms"."""
    return formatting.value_changes(note.before, note.after, unit)


def _level_lines(current: Rule, proposed: Rule) -> list[charts.ThresholdLine]:
    """The chart's threshold lines: current and proposed, or one line where they agree."""
    lines = []
    for level in ("warning", "critical"):
        now, then = getattr(current, level), getattr(proposed, level)
        if now is not None and now == then:
            lines.append(charts.ThresholdLine(level, now, name=f"{level} (unchanged)"))
            continue
        if now is not None:
            lines.append(charts.ThresholdLine(level, now, name=f"current {level}"))
        if then is not None:
            lines.append(charts.ThresholdLine(level, then, name=f"proposed {level}"))
    return lines


def _opened_at(opened: float | None) -> float | None:
    """The time the change form opened: every backtest of one editing session replays the same
    30 days, so the data fetched for the first is reused by the next (within the cache's
    five minutes) instead of moving with the clock."""
    if opened is None:
        return None
    return opened if 0 <= time.time() - opened <= backtest.CACHE_SECONDS else None


@admin.register(TuningNote)
class TuningNoteAdmin(admin.ModelAdmin):
    """The alert-tuning record. Notes that change nothing are added here; changes are added by
    saving a threshold. Nothing is ever edited or deleted."""

    form = TuningNoteForm
    list_display = ["at", "alert", "threshold_key", "kind", "author", "summary"]
    list_filter = ["kind", "alert"]
    search_fields = ["note", "threshold_key", "alert__name"]
    date_hierarchy = "at"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[TuningNote]:
        return super().get_queryset(request).select_related("alert", "threshold__metric")

    @admin.display(description="note and changes")
    def summary(self, obj: TuningNote) -> str:
        unit = obj.threshold.metric.unit if obj.threshold is not None else None
        diff = "; ".join(
            f"{name} {before} → {after}" for name, before, after in value_diff(obj, unit)
        )
        return f"{obj.note[:120]}" + (f" [{diff}]" if diff else "")

    def save_model(self, request: HttpRequest, obj: TuningNote, form: Any, change: bool) -> None:
        # Only additions reach here (no change permission): the note goes through the action.
        saved = tuning.add_note(
            obj.alert, actor=request.user, note=obj.note, threshold=obj.threshold
        )
        obj.pk = saved.pk


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin):
    """Metrics for new alerts are added here; their PromQL is run by Prometheus before it is
    saved. What a metric measures is fixed once it exists (thresholds and their history refer
    to it); the playbook's metrics follow the playbook file."""

    form = MetricForm
    list_display = ["key", "name", "category", "unit"]
    list_filter = ["category"]
    search_fields = ["key", "name", "query"]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        if obj is None:
            return []
        return [f for f in MetricForm.Meta.fields if f not in ("description", "impact")]

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
