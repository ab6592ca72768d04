"""The checklist pages: overview with completion rates, a run's page by role, the CSV export,
the SLA page when Prometheus is down, and overdue runs on the home page and in the channels."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from checklists import actions
from checklists.choices import Cadence, RunStatus
from checklists.models import ChecklistRun
from checklists.overdue import notify_overdue
from checklists.tasks import open_runs as tick
from notifications.models import Notification, NotificationChannel


@pytest.fixture
def overdue_run(runs):
    run = runs[Cadence.WEEKLY]
    ChecklistRun.objects.filter(pk=run.pk).update(due_at=timezone.now() - timedelta(hours=2))
    return ChecklistRun.objects.get(pk=run.pk)


def test_it_shows_current_runs_rates_and_roles(
    runs, sre, sre_client, django_assert_max_num_queries
):
    daily = runs[Cadence.DAILY]
    ChecklistRun.objects.filter(pk=daily.pk).update(due_at=timezone.now() + timedelta(hours=1))
    for item in daily.items.all():
        actions.check_item(item, actor=sre)
    actions.sign_off(daily, actor=sre)
    with django_assert_max_num_queries(27):  # with the navigation's two counts
        response = sre_client.get(reverse("checklists:index"))
    page = response.content.decode()
    for cadence in Cadence.values:
        assert f'data-testid="current-{cadence}"' in page
    assert 'data-testid="completion-chart"' in page
    rates = response.context["rates"]
    assert rates["daily"] == {
        "runs": 1,
        "complete": 1,
        "on_time": 1,
        "rate": 1.0,
        "on_time_rate": 1.0,
    }
    assert rates["monthly"]["complete"] == 0
    assert "Business items" in page and "review by a different SRE" in page


def test_it_loads_the_completion_figure_into_plotly(runs):
    import plotly.graph_objects as go

    from checklists.charts import completion_figure, completion_rates

    go.Figure(completion_figure(completion_rates([])))


def test_it_shows_business_staff_their_items_and_hides_sre_evidence(runs, business_client):
    daily = runs[Cadence.DAILY]
    snapshot = {
        "backup": {"verdict": "ok", "summary": "SECRET-SRE", "facts": []},
        "business_trends": {"verdict": "ok", "summary": "KPIS-SHOWN", "facts": []},
    }
    ChecklistRun.objects.filter(pk=daily.pk).update(
        evidence={"items": snapshot}, evidence_at=timezone.now()
    )
    page = business_client.get(reverse("checklists:run", args=[daily.pk])).content.decode()
    assert page.count('data-testid="check"') == 1  # only "Review business metrics trends"
    assert "KPIS-SHOWN" in page and "SECRET-SRE" not in page
    assert 'data-testid="sign-off"' not in page
    assert 'href="/checklists/"' in business_client.get("/").content.decode()


def test_it_exports_runs_with_items_and_signers_as_csv(runs, sre, sre_client):
    daily = runs[Cadence.DAILY]
    for item in daily.items.all():
        actions.check_item(item, actor=sre, note="fine")
    actions.sign_off(daily, actor=sre)
    response = sre_client.get(reverse("checklists:export"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 16
    signed = [r for r in rows if r["run"] == str(daily.pk)]
    assert {r["signed_off_by"] for r in signed} == {"sre"}
    assert {r["checked_by"] for r in signed} == {"sre"}
    assert signed[0]["item"] == "Review overnight alerts and incidents"


def test_it_says_the_sla_report_cannot_be_computed_without_prometheus(
    templates, sre_client, settings
):
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"
    page = sre_client.get(reverse("checklists:sla"), {"month": "2026-10"}).content.decode()
    assert "October 2026" in page and "Prometheus did not answer" in page
    assert sre_client.get(reverse("checklists:sla"), {"month": "nonsense"}).status_code == 400


def test_it_shows_overdue_runs_on_the_home_page(overdue_run, sre_client, business_client):
    page = sre_client.get("/").content.decode()
    assert 'data-testid="overdue-checklists"' in page and str(overdue_run) in page
    index = sre_client.get(reverse("checklists:index")).content.decode()
    assert 'data-testid="overdue"' in index


def test_it_notifies_an_overdue_run_once_through_the_channels(overdue_run, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    NotificationChannel.objects.create(name="sre mail", kind="email", target="sre@example.test")
    NotificationChannel.objects.create(
        name="db only", kind="email", target="db@example.test", categories=["database"]
    )
    sent = notify_overdue()
    assert [n.channel.name for n in sent] == ["sre mail"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("[OVERDUE] Weekly checklist")
    assert f"/checklists/runs/{overdue_run.pk}/" in mail.outbox[0].body
    # the next tick does not send it again
    tick.apply()
    assert notify_overdue() == [] and Notification.objects.count() == 1


def test_it_gathers_evidence_on_the_tick_and_retries_partial_snapshots(runs, settings):
    settings.PROMETHEUS_URL = settings.ALERTMANAGER_URL = "http://127.0.0.1:9"
    tick.apply()
    gathered = ChecklistRun.objects.filter(evidence_at__isnull=False).count()
    assert gathered == 4
    daily = ChecklistRun.objects.get(cadence=Cadence.DAILY)
    assert "backup" in daily.evidence["problems"]
    assert daily.status == RunStatus.OPEN
