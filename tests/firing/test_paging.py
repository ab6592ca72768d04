"""The lists of the Alertmanager loop are paged: the firing alerts (in their groups), the
resolved ones, the silences and the noise report, each with its counts, a bounded page size,
and page links that keep the filters; every GET parameter that sizes work is refused with a
400 naming it when it is out of bounds."""

from __future__ import annotations

import html as html_module
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.http import QueryDict
from django.utils import timezone

from alerts.models import Alert
from firing.paging import pager
from integrations import alertmanager
from integrations.alertmanager import Matcher
from tests import services
from tests.factories import make_firing_alert

URL = "/alerts/"


@pytest.fixture
def unreachable_alertmanager(settings) -> str:
    settings.ALERTMANAGER_URL = f"http://127.0.0.1:{services.free_port()}"
    return settings.ALERTMANAGER_URL


def _fire(count: int, name: str = "Storm", **labels: str) -> None:
    """``count`` alerts of one group, each its own card (they differ in a shard label, not
    only in where they fire), -0000 the oldest."""
    start = timezone.now() - timedelta(hours=1)
    for i in range(count):
        make_firing_alert(
            name,
            labels={"shard": f"{name.lower()}-{i:04d}", **labels},
            starts_at=start + timedelta(seconds=i),
        )


def _text(html: str) -> str:
    """Text as a reader sees it, with the page's typography plain: en dashes as hyphens and
    no arrows beside "Previous" and "Next"."""
    plain = html_module.unescape(html).replace("\N{EN DASH}", "-")
    return (
        plain.replace("\N{SINGLE LEFT-POINTING ANGLE QUOTATION MARK}", "")
        .replace("\N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK}", "")
        .strip()
    )


def _summary(page: str, param: str = "page") -> str:
    nav = page.split(f'data-testid="pager" data-param="{param}"')[1]
    found = re.search(r'data-testid="page-summary">([^<]*)<', nav)
    assert found is not None
    return _text(found.group(1))


def _links(page: str, param: str = "page") -> dict[str, dict[str, list[str]]]:
    """The page links of one list: their text, and each one's query parameters."""
    nav = page.split(f'data-testid="pager" data-param="{param}"')[1].split("</nav>")[0]
    return {
        _text(text): parse_qs(urlsplit(html_module.unescape(href)).query)
        for href, text in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav)
    }


def _group_sizes(page: str) -> list[str]:
    return [_text(size) for size in re.findall(r'data-testid="group-size">([^<]+)<', page)]


def _instances(page: str) -> list[str]:
    return re.findall(r'<code>shard="([\w-]+)"</code>', page)


# --- the pager --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "count, page, per_page, expected",
    [
        (0, 1, 50, (1, 1, 0, 0, "No things")),
        (7, 1, 50, (1, 1, 1, 7, "Showing all 7 things")),
        (8301, 1, 50, (1, 167, 1, 50, "Showing 1-50 of 8,301 things (page 1 of 167)")),
        (
            8301,
            167,
            50,
            (167, 167, 8301, 8301, "Showing 8,301-8,301 of 8,301 things (page 167 of 167)"),
        ),
        (100, 9, 50, (2, 2, 51, 100, "Showing 51-100 of 100 things (page 2 of 2)")),
    ],
)
def test_it_counts_what_a_page_shows(count, page, per_page, expected):
    shown = pager(QueryDict(), count=count, page=page, per_page=per_page, param="p", noun="things")
    summary = _text(shown.summary)
    assert (shown.number, shown.num_pages, shown.start, shown.end, summary) == expected
    assert shown.was_past_the_end == (page > shown.number)


def test_it_links_first_last_and_neighbours_keeping_the_other_parameters():
    query = QueryDict("severity=warning&per_page=10&page=50&tier=a%26b")
    shown = pager(query, count=1000, page=50, per_page=10, param="page", noun="x")
    assert [link.label for link in shown.links] == [
        "1",
        "",
        "48",
        "49",
        "50",
        "51",
        "52",
        "",
        "100",
    ]
    assert [link.is_current for link in shown.links].count(True) == 1
    assert parse_qs(shown.next_url[1:]) == {
        "severity": ["warning"],
        "per_page": ["10"],
        "page": ["51"],
        "tier": ["a&b"],
    }
    assert parse_qs(shown.previous_url[1:])["page"] == ["49"]


# --- the firing list --------------------------------------------------------------------


@pytest.mark.django_db
def test_it_pages_the_firing_alerts_with_counts_and_every_alert_once(
    sre_client, unreachable_alertmanager
):
    _fire(70, "Storm")
    _fire(50, "Other", severity="warning")

    seen = []
    for number, size in ((1, 50), (2, 50), (3, 20)):
        page = sre_client.get(URL, {"page": number}).content.decode()
        assert page.count('data-testid="firing-alert"') == size
        seen += _instances(page)
    first = sre_client.get(URL).content.decode()
    assert _summary(first) == "Showing 1-50 of 120 firing alerts (page 1 of 3), in 2 groups"
    # Each alert on exactly one page, critical first, the newest first within a group.
    assert len(seen) == len(set(seen)) == 120
    assert seen[:70] == [f"storm-{i:04d}" for i in reversed(range(70))]


@pytest.mark.django_db
def test_it_says_how_much_of_a_group_a_page_shows(sre_client, unreachable_alertmanager):
    _fire(70, "Storm")
    _fire(5, "Small", severity="warning")
    first = sre_client.get(URL).content.decode()
    second = sre_client.get(URL, {"page": 2}).content.decode()
    assert _group_sizes(first) == ["70 firing · 1-50 on this page"]
    assert _group_sizes(second) == ["70 firing · 51-70 on this page", "5 firing"]


@pytest.mark.django_db
def test_it_keeps_the_filters_and_page_size_in_the_page_links(sre_client, unreachable_alertmanager):
    _fire(25, "Warn", severity="warning", tenant_tier="team")
    _fire(5, "Crit")
    now = timezone.now()
    for i in range(12):
        make_firing_alert(
            "Warn",
            status="resolved",
            ends_at=now - timedelta(minutes=i),
            labels={"severity": "warning", "tenant_tier": "team", "instance": f"r-{i}"},
        )
    query = {"severity": "warning", "tier": "team", "per_page": "10", "resolved_page": "2"}
    page = sre_client.get(URL, query).content.decode()

    assert _summary(page) == "Showing 1-10 of 25 firing alerts (page 1 of 3)"
    assert page.count('data-testid="firing-alert"') == 10
    links = _links(page)
    assert links["Next"] == {**{k: [v] for k, v in query.items()}, "page": ["2"]}
    assert links["3"]["page"] == ["3"]
    # The resolved list has its own page, kept by the firing list's links and keeping theirs.
    assert _summary(page, "resolved_page") == (
        "Showing 11-12 of 12 alerts resolved in the last 24 hours (page 2 of 2)"
    )
    resolved = _links(page, "resolved_page")
    assert resolved["Previous"] == {**{k: [v] for k, v in query.items()}, "resolved_page": ["1"]}
    # The filter form shows what is filtered.
    assert 'name="tier" value="team"' in page
    assert '<option value="warning" selected>' in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, shown",
    [
        ({"alertname": "orm"}, 3),  # contains, any case
        ({"acknowledged": "yes"}, 1),
        ({"acknowledged": "no"}, 3),
        ({"tier": "team"}, 1),
        ({"severity": "warning"}, 1),
    ],
)
def test_it_filters_the_firing_alerts(sre_client, sre, unreachable_alertmanager, query, shown):
    _fire(2, "StormA")
    make_firing_alert("STORMB", labels={"tenant_tier": "team", "severity": "warning"})
    make_firing_alert("Quiet", acknowledged_by=sre, acknowledged_at=timezone.now())
    page = sre_client.get(URL, query).content.decode()
    assert page.count('data-testid="firing-alert"') == shown
    assert "Clear the filters" in page


@pytest.mark.django_db
def test_it_says_so_when_no_firing_alert_matches_the_filters(sre_client, unreachable_alertmanager):
    _fire(3)
    page = sre_client.get(URL, {"severity": "warning"}).content.decode()
    assert 'data-testid="nothing-matches"' in page
    assert 'data-testid="nothing-firing"' not in page


@pytest.mark.django_db
def test_it_shows_the_last_page_when_asked_for_one_past_the_end(
    sre_client, unreachable_alertmanager
):
    # A list shrinks as alerts resolve: yesterday's link to page 9 still shows something.
    _fire(60)
    response = sre_client.get(URL, {"page": 9})
    assert response.status_code == 200
    page = response.content.decode()
    assert _summary(page) == "Showing 51-60 of 60 firing alerts (page 2 of 2)"
    assert "There is no page 9 any more" in page
    assert page.count('data-testid="firing-alert"') == 10


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, field, limit",
    [
        ({"per_page": "5"}, "per_page", "from 10 to 100"),
        ({"per_page": "101"}, "per_page", "from 10 to 100"),
        ({"per_page": "1000000"}, "per_page", "from 10 to 100"),
        ({"per_page": "ten"}, "per_page", "from 10 to 100"),
        ({"per_page": "9" * 5000}, "per_page", "from 10 to 100"),
        ({"page": "0"}, "page", "from 1 to 100,000"),
        ({"page": "-3"}, "page", "from 1 to 100,000"),
        ({"page": "2.5"}, "page", "from 1 to 100,000"),
        ({"page": "100001"}, "page", "from 1 to 100,000"),
        ({"page": "²"}, "page", "from 1 to 100,000"),
        ({"resolved_page": "0"}, "resolved_page", "from 1 to 100,000"),
        ({"severity": "catastrophic"}, "severity", "not one of the available choices"),
        ({"acknowledged": "maybe"}, "acknowledged", "not one of the available choices"),
        ({"alertname": "x" * 201}, "alertname", "at most 200 characters"),
        ({"tier": "t" * 51}, "tier", "at most 50 characters"),
    ],
)
def test_it_refuses_a_bad_page_or_filter_with_400_naming_it(
    sre_client, unreachable_alertmanager, query, field, limit
):
    _fire(3)
    response = sre_client.get(URL, query)
    assert response.status_code == 400
    page = html_module.unescape(response.content.decode())
    assert 'data-testid="bad-query"' in page
    problem = re.search(rf"<li>{field}: ([^<]+)</li>", page)
    assert problem is not None, page
    assert limit in problem.group(1)


@pytest.mark.django_db
def test_it_takes_the_defaults_for_missing_or_empty_page_parameters(
    sre_client, unreachable_alertmanager
):
    _fire(60)
    page = sre_client.get(URL, {"page": "", "per_page": ""}).content.decode()
    assert _summary(page) == "Showing 1-50 of 60 firing alerts (page 1 of 2)"


@pytest.mark.django_db
def test_it_reads_any_page_in_the_same_number_of_queries(
    sre, unreachable_alertmanager, django_assert_num_queries
):
    from django.test import Client

    client = Client()
    client.force_login(sre)
    for i in range(130):
        make_firing_alert(f"Alert{i % 3}", labels={"shard": f"node-{i}"})
    with django_assert_num_queries(13):  # as on the first page (test_firing.py says which)
        response = client.get(URL, {"page": 2, "per_page": 100})
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="firing-alert"') == 30


# --- the silences -----------------------------------------------------------------------


@pytest.fixture
def am(settings, alertmanager_server) -> Iterator[str]:
    settings.ALERTMANAGER_URL = alertmanager_server.url
    yield alertmanager_server.url
    for silence in alertmanager.list_silences():
        alertmanager.expire_silence(silence.id)


@pytest.mark.services
@pytest.mark.django_db
def test_it_pages_the_silences_keeping_the_filter(sre_client, am):
    now = datetime.now(UTC)
    for i in range(23):
        alertmanager.create_silence(
            [Matcher("alertname", f"Paged{i}")],
            starts_at=now,
            ends_at=now + timedelta(hours=2, minutes=i),
            created_by="pager-test",
            comment=f"silence {i}",
        )
    alertmanager.create_silence(
        [Matcher("alertname", "NotMine")],
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        created_by="someone-else",
        comment="not in the filter",
    )
    query = {"created_by": "pager", "per_page": "10", "page": "3"}
    page = sre_client.get("/alerts/silences", query).content.decode()

    assert _summary(page) == "Showing 21-23 of 23 silences (page 3 of 3)"
    assert page.count('data-testid="silence"') == 3
    assert "silence 22" in page and "not in the filter" not in page
    assert _links(page)["Previous"] == {
        "created_by": ["pager"],
        "per_page": ["10"],
        "page": ["2"],
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, field",
    [
        ({"per_page": "500"}, "per_page"),
        ({"page": "x"}, "page"),
        ({"state": "expired"}, "state"),
        ({"created_by": "c" * 151}, "created_by"),
    ],
)
def test_it_refuses_bad_silence_list_parameters_before_asking_alertmanager(
    sre_client, unreachable_alertmanager, query, field
):
    response = sre_client.get("/alerts/silences", query)
    assert response.status_code == 400
    page = response.content.decode()
    assert f"<li>{field}: " in page
    assert "Alertmanager unreachable" not in page


# --- the noise report -------------------------------------------------------------------


@pytest.fixture
def loaded(settings, unreachable_alertmanager) -> int:
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return Alert.objects.count()


def _noise_names(page: str) -> list[str]:
    return re.findall(r'data-testid="noise-row" data-alert="([^"]+)"', page)


@pytest.mark.django_db
def test_it_pages_the_noise_report(sre_client, loaded):
    assert loaded > 10
    names = sorted(Alert.objects.values_list("name", flat=True))
    first = sre_client.get("/alerts/noise", {"sort": "name", "per_page": 10}).content.decode()
    last_page = -(-loaded // 10)
    assert _summary(first) == f"Showing 1-10 of {loaded} alerts (page 1 of {last_page})"
    assert _noise_names(first) == names[:10]
    second = sre_client.get("/alerts/noise", {"sort": "name", "per_page": 10, "page": 2})
    assert _noise_names(second.content.decode()) == names[10:20]
    assert _links(first)["Next"] == {"sort": ["name"], "per_page": ["10"], "page": ["2"]}


@pytest.mark.django_db
def test_it_filters_and_orders_the_noise_report(sre_client, loaded):
    page = sre_client.get("/alerts/noise", {"alert": "redis", "sort": "name"}).content.decode()
    names = _noise_names(page)
    assert names and all("redis" in name.lower() for name in names)
    assert names == sorted(names)
    assert _summary(page) == f"Showing all {len(names)} alerts"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, field",
    [
        ({"per_page": "0"}, "per_page"),
        ({"page": "1e9"}, "page"),
        ({"sort": "loudest"}, "sort"),
        ({"alert": "a" * 201}, "alert"),
    ],
)
def test_it_refuses_bad_noise_report_parameters(sre_client, loaded, query, field):
    response = sre_client.get("/alerts/noise", query)
    assert response.status_code == 400
    assert f"<li>{field}: " in response.content.decode()
