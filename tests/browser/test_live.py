"""Screens that stay current without a reload (static/js/live.js): a dashboard's charts gain
points with the zoom and the hidden series kept, the navigation counts firing alerts as they
come and go, nothing is fetched while the tab is hidden (and a round runs at once when it shows
again), and the header says plainly when the page cannot update: the server does not answer,
or the session ended."""

from __future__ import annotations

import os
import time

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from playwright.sync_api import Page, expect

from alerts.choices import TuningKind
from alerts.cycle import evaluate_cycle
from alerts.models import Threshold, TuningNote
from firing.models import FiringAlert
from tests.browser.conftest import log_in, screenshot
from tests.conftest import PASSWORD, running_demo
from tests.factories import make_firing_alert

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHART = '[data-figure="api_p95_latency"]'


@pytest.fixture
def fast(settings):
    settings.LIVE_REFRESH_SECONDS = 1
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"  # refused at once where nothing needs it


def points(page: Page) -> int:
    return page.eval_on_selector(
        CHART, "div => Math.max(...div.data.map(trace => (trace.y || []).length))"
    )


def test_a_chart_gains_points_and_keeps_its_zoom_and_hidden_series(
    page: Page, sre, settings, tmp_path
):
    with running_demo(tmp_path) as (_, prometheus):
        settings.PROMETHEUS_URL = prometheus.url
        settings.LIVE_REFRESH_SECONDS = 1
        call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
        evaluate_cycle()
        log_in(page, "sre", PASSWORD)
        page.goto("/d/leanvibe-overview?range=1h")
        page.wait_for_function(
            "s => { const d = document.querySelector(s); return d && d.data; }", arg=CHART
        )
        page.evaluate("window.__marker = 'same page'")
        first = points(page)
        # What a person does with the chart: hide the first series by its legend entry and
        # zoom the x axis by dragging across the plot.
        page.locator(f"{CHART} .legendtoggle").first.click()
        box = page.locator(f"{CHART} .nsewdrag").first.bounding_box()
        assert box is not None
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * 0.5, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.95, y, steps=5)
        page.mouse.up()
        zoomed = page.eval_on_selector(CHART, "div => div.layout.xaxis.range.slice()")
        # An administrator edits the enterprise level meanwhile: a marker comes in with the
        # new points, on this chart, with its hover text and its link.
        threshold = Threshold.objects.get(key="api_p95_latency.enterprise")
        TuningNote.objects.create(
            alert=threshold.alert,
            threshold=threshold,
            threshold_key=threshold.key,
            kind=TuningKind.CHANGED,
            before={"warning": 0.5},
            after={"warning": 0.6},
            note="less noise at peak",
        )
        # A point every 15 s (the 1h range's step); the shared chart cache turns every 30 s.
        page.wait_for_function(
            "([s, n]) => Math.max(...document.querySelector(s).data.map("
            "t => (t.y || []).length)) > n",
            arg=[CHART, first],
            timeout=120_000,
        )
        edits = page.eval_on_selector(
            CHART,
            "div => div.data.filter(t => t.name === 'threshold edits')"
            ".map(t => [t.text[0], t.customdata[0]])",
        )
        if not edits:  # the points' refresh came before the note's half-minute
            page.wait_for_function(
                "s => document.querySelector(s).data.some(t => t.name === 'threshold edits')",
                arg=CHART,
                timeout=60_000,
            )
            edits = page.eval_on_selector(
                CHART,
                "div => div.data.filter(t => t.name === 'threshold edits')"
                ".map(t => [t.text[0], t.customdata[0]])",
            )
        [(text, link)] = edits
        assert "api_p95_latency.enterprise" in text and "less noise at peak" in text
        assert link == f"/admin/alerts/threshold/{threshold.pk}/tuning/"
        assert page.evaluate("window.__marker") == "same page"
        assert page.eval_on_selector(CHART, "div => div.data[0].visible") == "legendonly"
        assert page.eval_on_selector(CHART, "div => div.layout.xaxis.range") == zoomed
        expect(page.get_by_test_id("live-status")).to_contain_text("Updated")
        screenshot(page, "overview-live-chart")


def test_the_navigation_counts_firing_alerts_as_they_come_and_go(page: Page, sre, fast):
    log_in(page, "sre", PASSWORD)
    page.goto("/runbooks/")
    expect(page.get_by_test_id("nav-none-firing")).to_have_text("nothing firing")
    page.evaluate("window.__marker = 'same page'")
    alert = make_firing_alert(labels={"severity": "critical"})
    make_firing_alert("LeanVibeHighErrorRate", labels={"severity": "warning"})
    expect(page.get_by_test_id("nav-critical")).to_have_text("1 critical")
    expect(page.get_by_test_id("nav-warning")).to_have_text("1 warning")
    FiringAlert.objects.filter(pk=alert.pk).update(status="resolved")
    expect(page.get_by_test_id("nav-critical")).to_have_count(0)
    expect(page.get_by_test_id("nav-warning")).to_have_text("1 warning")
    assert page.evaluate("window.__marker") == "same page"
    screenshot(page, "navigation-counts")


def test_the_counts_are_only_for_roles_that_act_on_them(page: Page, business, fast):
    make_firing_alert()
    log_in(page, "business", PASSWORD)
    page.goto("/")
    expect(page.get_by_test_id("username")).to_have_text("business")
    expect(page.get_by_test_id("nav-counts")).to_have_count(0)


def test_it_fetches_nothing_while_the_tab_is_hidden_and_catches_up_when_it_shows(
    page: Page, sre, fast
):
    log_in(page, "sre", PASSWORD)
    # The page's timers run on a clock the test moves: "nothing for ten intervals" is then ten
    # intervals of the page's own time, not a wait of the test's.
    page.clock.install()
    page.goto("/runbooks/")
    page.evaluate(
        "window.__rounds = 0;"
        " document.body.addEventListener('live:updated', () => { window.__rounds++; })"
    )
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.clock.run_for(1100)
    wait_for_round(page, asked, 1)
    # The browser's own signal of a hidden tab, as switching tabs sends it.
    set_hidden(page, True)
    expect(page.get_by_test_id("live-status")).to_contain_text("Paused while the tab is hidden")
    make_firing_alert(labels={"severity": "critical"})
    before = len(asked)
    page.clock.run_for(10_000)
    assert len(asked) == before, asked[before:]
    expect(page.get_by_test_id("nav-none-firing")).to_be_visible()
    set_hidden(page, False)  # the catch-up: at once, not at the next tick
    expect(page.get_by_test_id("nav-critical")).to_have_text("1 critical")
    # Playwright hands the page's request events to the test asynchronously: the region can
    # be updated before its request is heard here, so wait for the event, then count
    wait_for_requests(page, asked, before + 1)
    assert len(asked) == before + 1, asked[before:]


def test_a_round_that_lands_after_the_tab_hid_leaves_it_paused(page: Page, sre, fast):
    log_in(page, "sre", PASSWORD)
    page.goto("/runbooks/")
    expect(page.get_by_test_id("live-status")).to_contain_text("Updated")

    def hide_then_answer(route):
        # The tab hides while this round's request is on its way; its answer comes after.
        set_hidden(page, True)
        route.continue_()

    page.route("**/live/navigation", hide_then_answer, times=1)
    page.evaluate(
        "window.__rounds = 0;"
        " document.body.addEventListener('live:updated', () => { window.__rounds++; })"
    )
    page.wait_for_function("() => window.__rounds >= 1", timeout=30_000)
    expect(page.get_by_test_id("live-status")).to_contain_text("Paused while the tab is hidden")


def hold_answers(page: Page) -> None:
    """Count the answers held while pressed; a press lasts as long as the test needs."""
    page.evaluate(
        "document.body.dataset.liveHold = '600'; window.__held = 0; window.__order = [];"
        " document.body.addEventListener('live:held', () => { window.__held++; });"
        " document.body.addEventListener('live:updated', () => {"
        "   window.__order.push('updated');"
        "   window.__said = document.getElementById('live-status').textContent; });"
        " document.addEventListener('click', () => { window.__order.push('click'); }, true);"
    )


def held_with(page: Page, change) -> None:
    """``change`` made while pressed, then two answers held: the second was asked for after
    it (the first may have been read before)."""
    change()
    page.evaluate("window.__held = 0")
    page.wait_for_function("() => window.__held >= 2", timeout=30_000)


def test_an_answer_waits_while_a_button_is_pressed_and_lands_on_release(page: Page, sre, fast):
    """A region swapped in above a pressed button would move it, and the release would fall
    elsewhere: no click. The answer waits for the release, and lands after its click."""
    log_in(page, "sre", PASSWORD)
    page.goto("/runbooks/")
    expect(page.get_by_test_id("nav-none-firing")).to_be_visible()
    hold_answers(page)
    heading = page.get_by_role("heading", level=1).bounding_box()
    assert heading
    page.mouse.move(heading["x"] + 2, heading["y"] + heading["height"] / 2)
    page.mouse.down()
    held_with(page, lambda: make_firing_alert(labels={"severity": "critical"}))
    assert page.get_by_test_id("nav-critical").count() == 0
    expect(page.get_by_test_id("nav-none-firing")).to_be_visible()
    # From now on no round can answer: only the held answer can bring the alert.
    page.route("**/live/**", lambda route: route.abort())
    expect(page.get_by_test_id("live-status")).to_contain_text("Cannot update")
    page.mouse.up()
    expect(page.get_by_test_id("nav-critical")).to_have_text("1 critical")
    assert page.evaluate("window.__order")[:2] == ["click", "updated"]
    # It was news when it arrived, but a round failed since: the header still says so.
    assert "Cannot update" in page.evaluate("window.__said")


def test_a_tap_gets_its_click_before_the_held_answer_lands(browser, live_server, sre, fast):
    """A touch's click comes in a task of its own after the finger lifts: the answer waits
    for it too."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 800, "height": 860}, has_touch=True
    )
    try:
        page = context.new_page()
        log_in(page, "sre", PASSWORD)
        page.goto("/runbooks/")
        expect(page.get_by_test_id("nav-none-firing")).to_be_visible()
        hold_answers(page)
        client = context.new_cdp_session(page)
        heading = page.get_by_role("heading", level=1).bounding_box()
        assert heading
        point = {"x": heading["x"] + 2, "y": heading["y"] + heading["height"] / 2}
        client.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point]})
        held_with(page, lambda: make_firing_alert(labels={"severity": "critical"}))
        assert page.get_by_test_id("nav-critical").count() == 0
        page.route("**/live/**", lambda route: route.abort())
        client.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        expect(page.get_by_test_id("nav-critical")).to_have_text("1 critical")
        assert page.evaluate("window.__order")[:2] == ["click", "updated"]
    finally:
        context.close()


def wait_for_requests(page: Page, asked: list[str], count: int, seconds: float = 10) -> None:
    """Until the test has heard ``count`` requests (events arrive while Playwright waits)."""
    deadline = time.monotonic() + seconds
    while len(asked) < count and time.monotonic() < deadline:
        page.wait_for_timeout(50)


def wait_for_round(page: Page, asked: list[str], count: int) -> None:
    """Until ``count`` rounds have landed: the status reads "ok" before the first one, so it
    cannot say a round is over (one still in flight could land after the tab hides)."""
    page.wait_for_function("n => window.__rounds >= n", arg=count)
    wait_for_requests(page, asked, count)
    assert len([url for url in asked if "/live/navigation" in url]) >= count, asked


def set_hidden(page: Page, hidden: bool) -> None:
    page.evaluate(
        "hidden => { Object.defineProperty(document, 'hidden', {value: hidden, configurable:"
        " true}); document.dispatchEvent(new Event('visibilitychange')); }",
        hidden,
    )


def test_it_says_when_the_server_does_not_answer(page: Page, sre, fast):
    log_in(page, "sre", PASSWORD)
    page.goto("/runbooks/")
    expect(page.get_by_test_id("live-status")).to_contain_text("Updated")
    page.route("**/live/navigation", lambda route: route.abort("connectionrefused"))
    expect(page.get_by_test_id("live-status")).to_contain_text(
        "Cannot update: the server does not answer"
    )
    screenshot(page, "live-server-unreachable")
    page.unroute("**/live/navigation")
    expect(page.get_by_test_id("live-status")).to_contain_text("Updated")


def test_it_says_when_the_session_ended_and_stops(page: Page, sre, fast):
    log_in(page, "sre", PASSWORD)
    page.goto("/runbooks/")
    expect(page.get_by_test_id("live-status")).to_contain_text("Updated")
    Session.objects.all().delete()
    status = page.get_by_test_id("live-status")
    expect(status).to_contain_text("Your session ended")
    expect(status.get_by_role("link", name="Sign in again")).to_have_attribute(
        "href", "/accounts/login/?next=%2Frunbooks%2F"
    )
    screenshot(page, "live-session-ended")


def test_another_sres_check_arrives_on_an_open_checklist_run(
    page: Page, sre, sre2, fast, prometheus_server, alertmanager_server, settings
):
    from checklists import actions as checklists
    from checklists.choices import Cadence

    settings.PROMETHEUS_URL = prometheus_server.url
    settings.ALERTMANAGER_URL = alertmanager_server.url
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    daily = next(run for run in checklists.open_runs() if run.cadence == Cadence.DAILY)
    log_in(page, "sre", PASSWORD)
    page.goto(f"/checklists/runs/{daily.pk}/")
    page.evaluate("window.__marker = 'same page'")
    item = daily.items.order_by("position").first()
    row = page.locator(f"#item-{item.pk}")
    expect(row).not_to_have_attribute("data-status", "done")
    checklists.check_item(item, actor=sre2, note="looked at the overnight alerts")
    expect(row).to_have_attribute("data-status", "done")
    assert page.evaluate("window.__marker") == "same page"
