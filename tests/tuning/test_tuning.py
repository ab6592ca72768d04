"""Threshold tuning in the admin: a note for every change, recorded with author and diff, a
history with restore, notes that change nothing, validation on the field, and a rule rewrite
queued after the change commits."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command

from alerts.choices import TuningKind
from alerts.models import Alert, Threshold, TuningNote
from metrics.models import Metric
from runbooks.models import Runbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(settings):
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"  # nothing here needs an answer
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115


@pytest.fixture
def published(monkeypatch):
    """The rule rewrites queued after commit (the task itself is tested in test_rules)."""
    calls: list[str] = []
    monkeypatch.setattr("tuning.actions._publish_rules", lambda: calls.append("publish"))
    return calls


def form_data(threshold: Threshold, **changes) -> dict:
    data = {
        "direction": threshold.direction,
        "warning": threshold.warning,
        "critical": "" if threshold.critical is None else threshold.critical,
        "for_warning": threshold.for_warning,
        "for_critical": threshold.for_critical,
        "relative_to": threshold.relative_to,
        "tuning_note": "",
    }
    data.update(changes)
    return data


def change_url(threshold: Threshold) -> str:
    return f"/admin/alerts/threshold/{threshold.pk}/change/"


def test_it_refuses_a_change_without_a_note(loaded, admin_client, published):
    threshold = Threshold.objects.get(key="api_error_rate")
    response = admin_client.post(change_url(threshold), form_data(threshold, warning=2))
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    threshold.refresh_from_db()
    assert threshold.warning == 1
    assert not TuningNote.objects.exists() and not published


def test_it_records_a_change_with_author_note_and_diff(
    loaded, admin_client, admin_user, published, django_capture_on_commit_callbacks
):
    threshold = Threshold.objects.get(key="api_error_rate")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            change_url(threshold),
            form_data(threshold, warning=2, for_warning="5m", tuning_note="1 % paged twice a week"),
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    threshold.refresh_from_db()
    assert (threshold.warning, threshold.for_warning) == (2, "5m")
    assert threshold.is_tuned
    note = TuningNote.objects.get()
    assert (note.kind, note.author, note.note) == (
        TuningKind.CHANGED,
        admin_user,
        "1 % paged twice a week",
    )
    assert note.diff() == [("for_warning", "2m", "5m"), ("warning", 1.0, 2.0)]
    assert published == ["publish"]
    history = admin_client.get(f"/admin/alerts/threshold/{threshold.pk}/tuning/").content.decode()
    assert "1 % paged twice a week" in history and admin_user.username in history
    assert "<code>warning</code> <del>1 %</del> → <ins>2 %</ins>" in history
    assert "<code>for_warning</code> <del>2m</del> → <ins>5m</ins>" in history


def test_it_restores_an_earlier_version_as_a_change_of_its_own(loaded, admin_client, published):
    threshold = Threshold.objects.get(key="api_error_rate")
    admin_client.post(change_url(threshold), form_data(threshold, warning=2, tuning_note="first"))
    threshold.refresh_from_db()
    admin_client.post(change_url(threshold), form_data(threshold, warning=3, tuning_note="second"))
    first = TuningNote.objects.get(note="first")
    url = f"/admin/alerts/threshold/{threshold.pk}/tuning/{first.pk}/restore/"
    assert admin_client.post(url, {"note": ""}).status_code == 302  # refused: no note
    threshold.refresh_from_db()
    assert threshold.warning == 3
    admin_client.post(url, {"note": "3 % missed the 20 Nov incident"})
    threshold.refresh_from_db()
    assert threshold.warning == 2
    restored = TuningNote.objects.order_by("-pk").first()
    assert restored.kind == TuningKind.RESTORED
    assert restored.diff() == [("warning", 3.0, 2.0)]
    assert TuningNote.objects.count() == 3  # nothing rewritten


def test_it_keeps_a_note_without_a_change_as_a_tuning_note(loaded, admin_client, published):
    threshold = Threshold.objects.get(key="api_error_rate")
    response = admin_client.post(
        change_url(threshold), form_data(threshold, tuning_note="fired on 20 Nov: real")
    )
    assert response.status_code == 302
    note = TuningNote.objects.get()
    assert note.kind == TuningKind.NOTE and note.diff() == []
    assert not published  # nothing to export


def test_it_adds_notes_on_an_alert_that_change_nothing(loaded, admin_client, admin_user):
    alert = Alert.objects.get(name="LeanVibeHighErrorRate")
    response = admin_client.post(
        "/admin/alerts/tuningnote/add/",
        {"alert": alert.pk, "threshold": "", "note": "fired during the 20 Nov incident: real"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    note = TuningNote.objects.get()
    assert (note.kind, note.author, note.threshold) == (TuningKind.NOTE, admin_user, None)
    threshold = Threshold.objects.get(key="api_error_rate")
    history = admin_client.get(f"/admin/alerts/threshold/{threshold.pk}/tuning/").content.decode()
    assert "fired during the 20 Nov incident: real" in history
    # notes are never edited or deleted
    assert admin_client.get(f"/admin/alerts/tuningnote/{note.pk}/delete/").status_code == 403


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"warning": 5, "critical": 1}, "critical", "critical must be higher than warning"),
        ({"for_warning": "5 minutes"}, "for_warning", "is not a duration like 30s"),
        ({"for_warning": "30s5m"}, "for_warning", "is not a duration like 30s"),  # promtool's order
        ({"for_critical": ""}, "for_critical", "This field is required"),
        ({"relative_to": "5m"}, "relative_to", "between 1h and 92d"),
        (
            {"relative_to": "7d", "direction": "below", "warning": 5, "critical": 2},
            "warning",
            "a negative percent change",
        ),
    ],
)
def test_it_puts_each_validation_message_on_its_field(
    loaded, admin_client, published, changes, field, message
):
    threshold = Threshold.objects.get(key="api_error_rate")
    response = admin_client.post(
        change_url(threshold), form_data(threshold, tuning_note="try", **changes)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors.get(field, [])), errors
    assert not TuningNote.objects.exists()


def test_it_orders_levels_the_other_way_for_lower_bounds(loaded, admin_client, published):
    threshold = Threshold.objects.get(key="redis_hit_rate")  # below 85 warns, below 70 critical
    response = admin_client.post(
        change_url(threshold), form_data(threshold, warning=70, critical=80, tuning_note="x")
    )
    errors = response.context["adminform"].form.errors
    assert "critical must be lower than warning" in errors["critical"][0]


def test_it_adds_a_new_alert_with_its_threshold_and_exports_it(
    loaded, admin_client, published, prometheus_server, settings
):
    settings.PROMETHEUS_URL = prometheus_server.url
    response = admin_client.post(
        "/admin/metrics/metric/add/",
        {
            "key": "queue_depth",
            "name": "Job queue depth",
            "category": "application",
            "unit": "count",
            "query": "sum by (queue) (up) * 0",
            "group_by": '["queue"]',
            "description": "Jobs waiting",
            "impact": "Delayed exports",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    response = admin_client.post(
        "/admin/alerts/alert/add/",
        {
            "name": "LeanVibeQueueBacklog",
            "summary": "Jobs pile up",
            "severities": ["warning", "critical"],
            "service": "leanvibe-backend",
            "tuning_note": "exports stalled for an hour on 18 Nov and nobody knew",
        },
    )
    assert response.status_code == 302
    threshold_form = {
        "key": "queue_depth.exports",
        "metric": Metric.objects.get(key="queue_depth").pk,
        "alert": Alert.objects.get(name="LeanVibeQueueBacklog").pk,
        "scope": '{"queue": "exports"}',
        "direction": "above",
        "warning": 100,
        "critical": 1000,
        "for_warning": "5m",
        "for_critical": "5m",
        "relative_to": "",
        "tuning_note": "exports queue backed up on 18 Nov",
    }
    # no runbook yet: the alert cannot be enabled
    response = admin_client.post("/admin/alerts/threshold/add/", threshold_form)
    assert "has no runbook yet" in response.context["adminform"].form.errors["alert"][0]
    Runbook.objects.create(
        name="LeanVibeQueueBacklog",
        alert=Alert.objects.get(name="LeanVibeQueueBacklog"),
        title="Queue backlog",
    )
    response = admin_client.post("/admin/alerts/threshold/add/", threshold_form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    # the alert and its threshold, each with its note
    assert [n.kind for n in TuningNote.objects.all()] == [TuningKind.CREATED] * 2
    exported = call_command_output("export_rules")
    assert "alert: LeanVibeQueueBacklog" in exported
    assert 'label_replace(vector(1), "queue", "exports", "", "")' in exported


def call_command_output(name: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(name, stdout=out)
    return out.getvalue()


def test_it_shows_prometheus_s_parse_error_on_the_query_field(
    loaded, admin_client, prometheus_server, settings
):
    settings.PROMETHEUS_URL = prometheus_server.url
    response = admin_client.post(
        "/admin/metrics/metric/add/",
        {
            "key": "broken",
            "name": "Broken",
            "category": "application",
            "unit": "count",
            "query": "sum(rate(http_requests_total[5m]",
            "group_by": "[]",
            "description": "x",
            "impact": "x",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["query"][0]
    assert errors.startswith("Prometheus rejected this query:") and "parse error" in errors
    assert not Metric.objects.filter(key="broken").exists()


def test_it_refuses_a_query_it_could_not_check(loaded, admin_client):
    response = admin_client.post(
        "/admin/metrics/metric/add/",
        {
            "key": "unchecked",
            "name": "Unchecked",
            "category": "application",
            "unit": "count",
            "query": "up",
            "group_by": "[]",
            "description": "x",
            "impact": "x",
        },
    )
    assert "could not be checked" in response.context["adminform"].form.errors["query"][0]


def test_it_lists_thresholds_with_state_and_filters(loaded, admin_client):
    page = admin_client.get("/admin/alerts/threshold/?tier=enterprise").content.decode()
    assert "api_p95_latency.enterprise" in page and "api_p95_latency.team" not in page
    page = admin_client.get("/admin/alerts/threshold/?metric__category__exact=business")
    assert "mrr" in page.content.decode() and "api_error_rate" not in page.content.decode()
    page = admin_client.get("/admin/alerts/threshold/?state=critical").content.decode()
    assert "0 thresholds" in page
    assert "not evaluated yet" in admin_client.get("/admin/alerts/threshold/").content.decode()


def test_it_keeps_tuning_to_administrators(loaded, sre_client):
    threshold = Threshold.objects.get(key="api_error_rate")
    for url in (
        change_url(threshold),
        f"/admin/alerts/threshold/{threshold.pk}/tuning/",
        f"/admin/alerts/threshold/{threshold.pk}/backtest/?warning=1",
    ):
        assert sre_client.get(url).status_code == 302  # to the admin's login


def test_it_restores_the_values_before_the_first_change(loaded, admin_client, published):
    threshold = Threshold.objects.get(key="api_error_rate")
    admin_client.post(change_url(threshold), form_data(threshold, warning=2, tuning_note="try 2"))
    first = TuningNote.objects.get()
    page = admin_client.get(f"/admin/alerts/threshold/{threshold.pk}/tuning/").content.decode()
    assert "Restore the values before" in page and "Restore the values after" not in page
    url = f"/admin/alerts/threshold/{threshold.pk}/tuning/{first.pk}/restore/"
    admin_client.post(url, {"note": "back to the playbook", "which": "before"})
    threshold.refresh_from_db()
    assert threshold.warning == 1 and not threshold.is_tuned


def test_it_notes_and_publishes_a_change_of_an_alert(
    loaded, admin_client, published, django_capture_on_commit_callbacks
):
    alert = Alert.objects.get(name="LeanVibeHighErrorRate")
    url = f"/admin/alerts/alert/{alert.pk}/change/"
    data = {"summary": "Errors", "severities": ["critical"], "service": "leanvibe-backend"}
    assert admin_client.post(url, data).status_code == 200  # refused: no note
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {**data, "tuning_note": "warning pages nobody reads"})
    assert response.status_code == 302
    note = TuningNote.objects.get()
    assert note.diff() == [
        ("severities", ["warning", "critical"], ["critical"]),
        ("summary", "API error rate above threshold", "Errors"),
    ]
    assert published == ["publish"]
    assert (
        "severity: warning\n      service: leanvibe-backend\n      threshold: api_error_rate"
        not in (call_command_output("export_rules"))
    )


def test_it_wants_a_traffic_guard_whole(loaded, admin_client):
    response = admin_client.post(
        "/admin/metrics/metric/add/",
        {
            "key": "half_guard",
            "name": "Half",
            "category": "application",
            "unit": "ratio",
            "query": "up",
            "min_volume": "1",
            "group_by": "[]",
            "description": "x",
            "impact": "x",
        },
    )
    errors = response.context["adminform"].form.errors
    assert "needs both the traffic query and its minimum" in errors["volume_query"][0]


def test_it_backtests_levels_of_the_same_kind_only(loaded, admin_client):
    threshold = Threshold.objects.get(key="api_error_rate")
    params = {"direction": "above", "warning": "-10", "critical": "-20"}
    params |= {"for_warning": "0s", "for_critical": "0s", "relative_to": "7d"}
    url = f"/admin/alerts/threshold/{threshold.pk}/backtest/"
    page = admin_client.get(url, params).content.decode()
    assert "save the change of" in page


def metric_form(**changes) -> dict:
    data = {
        "key": "tier_latency",
        "name": "Tier latency",
        "category": "application",
        "unit": "seconds",
        "query": "sum by (tenant_tier) (rate(http_requests_total[5m]))",
        "group_by": '["tenant_tier"]',
        "description": "x",
        "impact": "x",
    }
    return data | changes


def test_it_wants_a_scoped_query_to_say_where_the_scope_goes(
    loaded, admin_client, prometheus_server, settings
):
    settings.PROMETHEUS_URL = prometheus_server.url
    response = admin_client.post(
        "/admin/metrics/metric/add/",
        metric_form(scoped_query='sum(rate(http_requests_total{tenant_tier="team"}[5m]))'),
    )
    errors = response.context["adminform"].form.errors
    assert errors["scoped_query"] == ["Say where the scope's matchers go: $scope."]
    response = admin_client.post(
        "/admin/metrics/metric/add/",
        metric_form(scoped_query="sum(rate(http_requests_total{$scope}[5m])"),
    )
    [error] = response.context["adminform"].form.errors["scoped_query"]
    assert error.startswith("Prometheus rejected this query:") and "parse error" in error
    response = admin_client.post(
        "/admin/metrics/metric/add/",
        metric_form(group_by="[]", scoped_query="sum(rate(http_requests_total{$scope}[5m]))"),
    )
    assert (
        "needs the labels a scope names"
        in response.context["adminform"].form.errors["scoped_query"][0]
    )
    assert not Metric.objects.filter(key="tier_latency").exists()


def test_it_narrows_a_scoped_threshold_s_query_to_its_scope(
    loaded, admin_client, prometheus_server, settings
):
    settings.PROMETHEUS_URL = prometheus_server.url
    scoped = "sum by (tenant_tier) (rate(http_requests_total{$scope}[5m]))"
    response = admin_client.post("/admin/metrics/metric/add/", metric_form(scoped_query=scoped))
    assert response.status_code == 302, response.context["adminform"].form.errors
    metric = Metric.objects.get(key="tier_latency")
    assert metric.query_for({"tenant_tier": 'te"am'}) == (
        'sum by (tenant_tier) (rate(http_requests_total{tenant_tier="te\\"am"}[5m]))'
    )
    assert metric.query_for({}) == metric.query  # no scope: every series
    assert metric.query_for({"instance": "a"}) == metric.query  # not a label it groups by


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"warning": "1", "for_warning": "36500d"}, "for warning"),
        ({"warning": "1", "for_critical": "99999999999d"}, "for critical"),
        ({"warning": "1", "for_warning": "5 minutes"}, "for warning"),
        ({"warning": "inf"}, "warning"),
        ({"warning": "1", "critical": "nan"}, "critical"),
        ({"warning": "1", "direction": "sideways"}, "direction"),
        ({}, "warning"),
    ],
)
def test_it_refuses_backtest_levels_it_cannot_replay_at_once(loaded, admin_client, params, field):
    threshold = Threshold.objects.get(key="api_error_rate")
    response = admin_client.get(f"/admin/alerts/threshold/{threshold.pk}/backtest/", params)
    assert response.status_code == 400  # refused before any replay: the form bounds it
    assert f"Cannot backtest these levels: {field}:" in response.content.decode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"for_warning": "36500d"}, "At most 1d (36500d given)."),
        ({"for_critical": "99999999999d"}, "At most 1d (99999999999d given)."),
        ({"for_warning": "1" * 30 + "s"}, "at most 20 characters (it has 31)"),
        ({"tuning_note": "x" * 2001}, "at most 2000 characters (it has 2001)"),
    ],
)
def test_it_bounds_what_a_threshold_change_may_hold(
    loaded, admin_client, published, changes, message
):
    threshold = Threshold.objects.get(key="api_error_rate")
    data = form_data(threshold, warning=2, tuning_note="try 2") | changes
    page = admin_client.post(change_url(threshold), data).content.decode()
    assert message in page.replace("&#x27;", "'")
    threshold.refresh_from_db()
    assert threshold.warning == 1 and not TuningNote.objects.exists() and not published


def test_it_says_the_limits_beside_the_fields(loaded, admin_client):
    threshold = Threshold.objects.get(key="api_error_rate")
    page = admin_client.get(change_url(threshold)).content.decode()
    assert "At most 2,000 characters." in page
    assert "(at most 1d)" in page
    assert 'maxlength="4000"' in admin_client.get("/admin/metrics/metric/add/").content.decode()
