"""Markers on the trends: what happened (a runbook run and its outcome, a threshold edit, a
silence, an acknowledgement, a rollout of a workload, a change of state) lands on the charts of
the metrics it concerns, with a hover text and a link to its record; nothing lands on charts it
does not concern, and a cluster that cannot be asked costs only the rollouts."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from alerts.choices import TuningKind
from alerts.models import Check, StateChange, Threshold, TuningNote
from core.choices import State
from dashboards import markers
from demo import kube as demo_kube
from firing.choices import SilenceAction
from firing.models import Acknowledgement, SilenceAudit
from integrations.prometheus import RangeResult, Series
from metrics import charts
from metrics.models import Metric
from runbooks.choices import RunStatus
from runbooks.models import Action, ActionRun
from tests.factories import make_firing_alert
from tests.services import free_port

pytestmark = pytest.mark.django_db

ALERT = "LeanVibeHighErrorRate"


@pytest.fixture
def loaded(settings):
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    cache.clear()


@pytest.fixture
def no_cluster(settings, tmp_path):
    missing = tmp_path / "no-kubeconfig"
    settings.KUBECONFIG = str(missing)


@pytest.fixture
def cluster(settings, tmp_path):
    """The demo cluster (a Kubernetes-compatible API server) on a free port."""
    cluster = demo_kube.Cluster()
    port = free_port()
    server = demo_kube.serve(cluster, "127.0.0.1", port)
    path = tmp_path / "kubeconfig"
    path.write_text(demo_kube.kubeconfig(f"http://127.0.0.1:{port}"))
    settings.KUBECONFIG = str(path)
    cache.clear()
    yield cluster
    server.shutdown()


@pytest.fixture
def events(loaded, sre, admin_user):
    """One record of each kind, ten minutes ago, about the error rate's alert."""
    at = timezone.now() - timedelta(minutes=10)
    threshold = Threshold.objects.get(key="api_error_rate")
    check = Check.objects.create(threshold=threshold, signature="api_error_rate", labels={})
    StateChange.objects.create(
        check_obj=check,
        at=at,
        from_state=State.OK,
        to_state=State.WARNING,
        value=1.4,
        warning=threshold.warning,
        critical=threshold.critical,
        reason="above 1 %",
    )
    TuningNote.objects.create(
        alert=threshold.alert,
        threshold=threshold,
        threshold_key=threshold.key,
        kind=TuningKind.CHANGED,
        before={"warning": 1.0},
        after={"warning": 2.0},
        note="fired on every deploy",
        author=admin_user,
        at=at,
    )
    action = Action.objects.filter(step__runbook__alert=threshold.alert).first()
    assert action is not None
    ActionRun.objects.create(
        action=action,
        runbook_name=action.step.runbook.name,
        action_label="Scale the backend",
        kind=action.kind,
        parameters={},
        status=RunStatus.SUCCEEDED,
        requested_by=sre,
        requested_at=at,
        finished_at=at + timedelta(seconds=5),
    )
    firing = make_firing_alert(ALERT, labels={"severity": "warning"})
    Acknowledgement.objects.create(alert=firing, actor=sre, comment="on it", at=at)
    SilenceAudit.objects.create(
        silence_id="s1",
        action=SilenceAction.CREATED,
        actor=sre,
        matchers=[f'alertname="{ALERT}"', 'tenant_tier="enterprise"'],
        comment="deploying the fix",
        at=at,
    )
    return threshold


def window() -> tuple[float, float]:
    now = timezone.now().timestamp()
    return now - 3600, now


def test_it_puts_every_kind_on_the_chart_it_concerns(events):
    error_rate = events.metric_id
    request_rate = Metric.objects.get(key="api_throughput").pk
    found = markers.markers_by_metric([error_rate, request_rate], *window())
    kinds = {marker.kind for marker in found[error_rate]}
    assert kinds == {"state", "tuning", "run", "ack", "silence"}
    texts = " | ".join(marker.text for marker in found[error_rate])
    assert "OK → Warning at 1.4 %" in texts
    assert "warning 1 % → 2 %" in texts and "fired on every deploy" in texts
    assert "Scale the backend" in texts and "Succeeded" in texts
    assert "acknowledged by sre: on it" in texts
    assert f"{ALERT} silenced by sre: deploying the fix" in texts
    urls = {marker.kind: marker.url for marker in found[error_rate]}
    assert urls["run"].startswith("/runbooks/runs/")
    assert urls["tuning"] == f"/admin/alerts/threshold/{events.pk}/tuning/"
    assert urls["state"].startswith("/checks/")
    # the request rate's alert is another: none of these are its events
    assert request_rate not in found


def test_it_leaves_out_what_is_outside_the_range(events):
    now = timezone.now().timestamp()
    assert markers.markers_by_metric([events.metric_id], now - 60, now) == {}


def test_it_draws_markers_on_their_own_axis_with_hover_and_link(events):
    found = markers.markers_by_metric([events.metric_id], *window())[events.metric_id]
    traces = charts.marker_traces([(m.at, m.kind, m.text, m.url) for m in found])
    assert {t["name"] for t in traces} == {
        "runbook runs",
        "threshold edits",
        "silences",
        "acknowledgements",
        "changes of state",
    }
    for trace in traces:
        assert trace["yaxis"] == "y2" and trace["mode"] == "markers"
        assert all(url.startswith("/") for url in trace["customdata"])
        assert "%{text}" in trace["hovertemplate"]


def test_it_marks_a_rollout_of_the_cluster_on_the_application_charts(loaded, cluster):
    from integrations import kubernetes as kube

    kube.restart("leanvibe-production", "deployment/leanvibe-backend", dry_run=False)
    rollouts = markers.rollout_markers()
    assert [m.text for m in rollouts if "leanvibe-backend" in m.text] == [
        "rollout of deployment/leanvibe-backend in leanvibe-production"
    ]
    latest = max(m.at for m in rollouts if "leanvibe-backend" in m.text)
    assert abs(latest - timezone.now().timestamp()) < 120
    error_rate = Metric.objects.get(key="api_error_rate").pk
    node_memory = Metric.objects.get(key="node_memory").pk
    found = markers.markers_by_metric([error_rate, node_memory], *window(), rollouts)
    assert any(m.kind == "rollout" for m in found[error_rate])
    assert node_memory not in found  # infrastructure: not the application's


def test_a_cluster_that_cannot_be_asked_costs_only_the_rollouts(loaded, no_cluster):
    assert markers.rollout_markers() == []


def test_the_figure_keeps_the_markers_in_its_json(events):
    found = markers.markers_by_metric([events.metric_id], *window())[events.metric_id]
    now = timezone.now().timestamp()
    result = RangeResult("q", (Series({}, ((now - 60, 0.5), (now, 0.6))),))
    figure = charts.trend_figure(
        result, "percent", [], [], [(m.at, m.kind, m.text, m.url) for m in found]
    )
    text = json.dumps(figure)
    assert "deploying the fix" in text and figure["layout"]["showlegend"] is True


def test_a_first_evaluation_is_no_event(loaded):
    threshold = Threshold.objects.get(key="api_error_rate")
    check = Check.objects.create(threshold=threshold, signature="api_error_rate", labels={})
    StateChange.objects.create(
        check_obj=check,
        at=timezone.now() - timedelta(minutes=5),
        from_state=State.NO_DATA,
        to_state=State.OK,
        value=0.1,
        warning=threshold.warning,
        reason="inside every threshold",
    )
    assert markers.markers_by_metric([threshold.metric_id], *window()) == {}


def test_it_shows_a_typed_comment_as_text_in_the_hover():
    [trace] = charts.marker_traces(
        [(0.0, "ack", 'on it <a href="//evil.example">click</a>', "/alerts/")]
    )
    assert trace["text"] == ["on it &lt;a href=&quot;//evil.example&quot;&gt;click&lt;/a&gt;"]
