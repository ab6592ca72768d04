"""One unit per quantity in the tuning admin: levels are typed and shown in the metric's display
unit (ms, %, 26h), stored in Prometheus's base unit, exported with the base unit in the rule's
expression and the display unit in its annotation, and an unusual value is asked about once."""

from __future__ import annotations

import os
import re
from io import StringIO

import pytest
import yaml
from django.core.management import call_command

from alerts.choices import TuningKind
from alerts.models import Check, Threshold, TuningNote
from core.choices import State
from demo.backfill import backfill
from metrics.models import Metric
from tests import services

pytestmark = pytest.mark.django_db

SAVE_ANYWAY = "tick “Save anyway” to keep it."


@pytest.fixture
def loaded(settings):
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"  # nothing here needs an answer
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115


@pytest.fixture
def published(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr("tuning.actions._publish_rules", lambda: calls.append("publish"))
    return calls


def change_url(threshold: Threshold) -> str:
    return f"/admin/alerts/threshold/{threshold.pk}/change/"


def shown_form(client, threshold: Threshold) -> dict[str, str]:
    """The change form's fields as the page shows them (what a person would submit unchanged)."""
    form = client.get(change_url(threshold)).context["adminform"].form
    return {
        "direction": form["direction"].value(),
        "warning": form["warning"].value(),
        "critical": form["critical"].value() or "",
        "for_warning": form["for_warning"].value(),
        "for_critical": form["for_critical"].value(),
        "relative_to": form["relative_to"].value() or "",
        "tuning_note": "",
    }


def exported_rules() -> list[dict]:
    out = StringIO()
    call_command("export_rules", stdout=out)
    return [rule for group in yaml.safe_load(out.getvalue())["groups"] for rule in group["rules"]]


def rule_of(key: str, severity: str) -> dict:
    [rule] = [
        r
        for r in exported_rules()
        if r["labels"]["threshold"] == key and r["labels"]["severity"] == severity
    ]
    return rule


def test_it_takes_a_latency_in_ms_from_the_form_to_the_exported_rule(
    loaded, admin_client, published
):
    threshold = Threshold.objects.get(key="api_p95_latency.enterprise")
    page = admin_client.get(change_url(threshold)).content.decode()
    assert re.search(r'name="warning" value="200"[^>]*> <span class="level-unit"[^>]*>ms<', page)
    assert re.search(r'name="critical" value="500"[^>]*> <span class="level-unit"[^>]*>ms<', page)
    assert "The warning level, in ms." in page

    data = shown_form(admin_client, threshold) | {"warning": "250", "tuning_note": "paged a lot"}
    response = admin_client.post(change_url(threshold), data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    threshold.refresh_from_db()
    assert threshold.warning == 0.25 and threshold.critical == 0.5
    rule = rule_of("api_p95_latency.enterprise", "warning")
    assert " > 0.25)" in rule["expr"]
    assert "warning, above 250 ms." in rule["annotations"]["description"]
    assert (
        "above 500 ms"
        in rule_of("api_p95_latency.enterprise", "critical")["annotations"]["description"]
    )
    history = admin_client.get(f"/admin/alerts/threshold/{threshold.pk}/tuning/").content.decode()
    assert "<code>warning</code> <del>200 ms</del> → <ins>250 ms</ins>" in history
    notes = admin_client.get("/admin/alerts/tuningnote/").content.decode()
    assert "[warning 200 ms → 250 ms]" in notes


def test_it_refuses_an_unusual_latency_once_then_saves_it_with_the_tick(
    loaded, admin_client, published
):
    threshold = Threshold.objects.get(key="api_p95_latency.enterprise")
    data = shown_form(admin_client, threshold) | {"warning": "250000", "critical": "500000"}
    data["tuning_note"] = "the p95 is in seconds, surely"
    response = admin_client.post(change_url(threshold), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["warning"] == [
        "250,000 ms is unusual for a latency (usually between 0 and 10,000 ms): " + SAVE_ANYWAY
    ]
    assert errors["critical"][0].startswith("500,000 ms is unusual for a latency")
    page = response.content.decode()
    assert 'type="checkbox" name="confirm_unusual"' in page and "Save anyway" in page
    threshold.refresh_from_db()
    assert threshold.warning == 0.2 and not TuningNote.objects.exists() and not published

    response = admin_client.post(change_url(threshold), data | {"confirm_unusual": "on"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    threshold.refresh_from_db()
    assert (threshold.warning, threshold.critical) == (250.0, 500.0)


def test_it_does_not_ask_again_about_an_unusual_level_left_as_it_is(
    loaded, admin_client, published
):
    threshold = Threshold.objects.get(key="api_p95_latency.enterprise")
    Threshold.objects.filter(pk=threshold.pk).update(critical=50.0)  # 50,000 ms, kept so
    data = shown_form(admin_client, threshold) | {"warning": "300", "tuning_note": "a bit later"}
    assert data["critical"] == "50000"
    response = admin_client.post(change_url(threshold), data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def test_it_saves_a_level_shown_and_left_unchanged_exactly(loaded, admin_client, published):
    threshold = Threshold.objects.get(key="api_p95_latency.enterprise")
    exact = 0.1234567890123456  # more digits than the form shows
    Threshold.objects.filter(pk=threshold.pk).update(warning=exact)
    data = shown_form(admin_client, threshold) | {"tuning_note": "looked at it: fine"}
    assert data["warning"] == "123.456789012"
    response = admin_client.post(change_url(threshold), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    threshold.refresh_from_db()
    assert threshold.warning == exact
    assert TuningNote.objects.get().kind == TuningKind.NOTE  # nothing changed, noted only
    assert not published


def test_it_round_trips_a_backup_age_as_a_duration(loaded, admin_client, published):
    threshold = Threshold.objects.get(key="backup_age")
    assert (threshold.warning, threshold.critical) == (93600, 180000)
    data = shown_form(admin_client, threshold)
    assert (data["warning"], data["critical"]) == ("26h", "50h")
    page = admin_client.get(change_url(threshold)).content.decode()
    assert "as a duration such as 26h" in page

    data |= {"warning": "30h", "tuning_note": "backups run late on Sundays"}
    response = admin_client.post(change_url(threshold), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    threshold.refresh_from_db()
    assert threshold.warning == 30 * 3600
    history = admin_client.get(f"/admin/alerts/threshold/{threshold.pk}/tuning/").content.decode()
    assert "<del>26h</del> → <ins>30h</ins>" in history
    rule = rule_of("backup_age", "warning")
    assert rule["expr"].endswith(" > 108000")  # no scope, no traffic guard
    assert "above 30h" in rule["annotations"]["description"]
    assert "humanizeDuration" in rule["annotations"]["description"]

    response = admin_client.post(change_url(threshold), data | {"warning": "26 hours"})
    assert "is not a duration like 90m, 26h or 2d" in response.context["adminform"].form.errors[
        "warning"
    ][0].replace("&#x27;", "'")


@pytest.fixture
def churn(loaded) -> Threshold:
    metric = Metric.objects.get(key="churn_rate")
    threshold = Threshold.objects.get(key="backup_age")
    return Threshold.objects.create(
        key="churn_rate",
        metric=metric,
        alert=threshold.alert,
        direction="above",
        warning=0.105,
        critical=0.2,
    )


def test_it_takes_a_ratio_in_percent(churn, admin_client, published):
    page = admin_client.get(change_url(churn)).content.decode()
    assert re.search(r'name="warning" value="10.5"[^>]*> <span class="level-unit"[^>]*>%<', page)
    assert "The warning level, in %." in page
    data = shown_form(admin_client, churn) | {"warning": "12.5", "tuning_note": "noisy"}
    response = admin_client.post(change_url(churn), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    churn.refresh_from_db()
    assert churn.warning == 0.125
    rule = rule_of("churn_rate", "warning")
    assert " > 0.125)" in rule["expr"]
    assert "above 12.5 %" in rule["annotations"]["description"]
    assert '* 100" $value | query' in rule["annotations"]["description"]

    response = admin_client.post(change_url(churn), data | {"warning": "150", "critical": "200"})
    assert response.context["adminform"].form.errors["warning"] == [
        "150 % is unusual for a ratio (usually between 0 and 100 %): " + SAVE_ANYWAY
    ]


def test_it_takes_a_relative_threshold_s_levels_as_a_percent_change(
    loaded, admin_client, published
):
    threshold = Threshold.objects.get(key="mrr")
    page = admin_client.get(change_url(threshold)).content.decode()
    assert re.search(r'name="warning" value="-5"[^>]*> <span class="level-unit"[^>]*>%<', page)
    assert "in % change against the past window" in page
    data = shown_form(admin_client, threshold) | {"warning": "-7.5", "tuning_note": "too noisy"}
    response = admin_client.post(change_url(threshold), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    threshold.refresh_from_db()
    assert threshold.warning == -7.5
    assert "below -7.5 %" in rule_of("mrr", "warning")["annotations"]["description"]


def test_it_says_the_order_problem_in_the_display_unit(loaded, admin_client, published):
    threshold = Threshold.objects.get(key="api_p95_latency.enterprise")
    data = shown_form(admin_client, threshold) | {"warning": "600", "tuning_note": "x"}
    errors = admin_client.post(change_url(threshold), data).context["adminform"].form.errors
    assert errors["critical"] == ["With “above”, critical must be higher than warning (600 ms)."]


def test_it_lists_thresholds_with_their_levels_in_units(loaded, admin_client):
    backup = Threshold.objects.get(key="backup_age")
    Check.objects.create(
        threshold=backup, signature="backup_age", labels={}, state=State.OK, value=23790.4
    )
    page = admin_client.get("/admin/alerts/threshold/").content.decode()
    row = page[page.index(">backup_age<") :]
    row = row[: row.index("</tr>")]
    assert "&gt; 26h" in row and "&gt; 50h" in row and "6h37m" in row
    assert "&gt; 200 ms" in page and "&gt; 500 ms" in page  # enterprise latency
    assert "&lt; -5 %" in page and "30d earlier" in page  # mrr, relative
    assert "&gt; 80 %" in page and "for 10m" in page  # node cpu, sustained
    for raw in ("2.379e+04", "93600.0", "0.2<", "e+0"):
        assert raw not in page


def test_it_backtests_the_levels_as_typed_in_the_display_unit(loaded, admin_client):
    threshold = Threshold.objects.get(key="api_p95_latency.enterprise")
    url = f"/admin/alerts/threshold/{threshold.pk}/backtest/"
    params = {"direction": "above", "warning": "250", "critical": "500"}
    params |= {"for_warning": "0s", "for_critical": "0s"}
    response = admin_client.get(url, params)  # Prometheus does not answer: the levels stand
    assert response.status_code == 200
    proposed = response.context["proposed"]
    assert (proposed.warning, proposed.critical) == (0.25, 0.5)
    assert "backtest-unusual" not in response.content.decode()

    response = admin_client.get(url, params | {"warning": "250000"})
    unusual = response.content.decode()
    assert "warning 250,000 ms is unusual for a latency" in unusual
    assert "levels are in ms" in unusual

    response = admin_client.get(url, params | {"warning": "0.25 s"})
    assert response.status_code == 400
    assert "is not a number in ms" in response.content.decode().replace("&#x27;", "'")


@pytest.fixture
def history(tmp_path, settings):
    """A Prometheus holding six hours of the demo's history."""
    backfill(tmp_path, days=0.25, redis_exporter_port=None)
    prometheus = services.prometheus(tmp_path / "prometheus").start()
    settings.PROMETHEUS_URL = prometheus.url
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    yield prometheus
    prometheus.stop()


@pytest.mark.services
def test_it_draws_a_level_typed_in_ms_as_a_line_at_that_many_ms(admin_client, history):
    threshold = Threshold.objects.get(key="api_p95_latency.enterprise")
    params = {"direction": "above", "warning": "250", "critical": "500"}
    params |= {"for_warning": "0s", "for_critical": "0s"}
    response = admin_client.get(f"/admin/alerts/threshold/{threshold.pk}/backtest/", params)
    assert response.status_code == 200
    assert response.context["outcome"].series, response.content.decode()[:2000]
    figure = response.context["figure"]
    # current warning, proposed warning, the critical both share: in ms, as typed
    drawn = [shape["y0"] for shape in figure["layout"]["shapes"] if shape["type"] == "line"]
    assert drawn == [pytest.approx(200), pytest.approx(250), pytest.approx(500)]
    labels = " ".join(text["text"] for text in figure["layout"]["annotations"])
    assert re.search(r"proposed warning</span> <span[^>]*>250 ms<", labels), labels
    assert figure["layout"]["yaxis"]["title"]["text"] == "ms"
    page = response.content.decode()
    assert "Proposed: warning 250 ms, critical 500 ms" in page
    assert "Current: warning 200 ms, critical 500 ms" in page
