"""The Alertmanager seam against a real Alertmanager: the alerts it holds with their current
annotations, one silence read by id, and a silence updated in place or replaced, as its v2
API decides (POST /api/v2/silences with the id)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from integrations import alertmanager
from integrations.alertmanager import AlertmanagerError, Matcher
from tests import services

pytestmark = pytest.mark.services


def _new(url: str, *matchers: Matcher, hours: int = 1) -> str:
    now = datetime.now(UTC)
    return alertmanager.create_silence(
        list(matchers),
        starts_at=now,
        ends_at=now + timedelta(hours=hours),
        created_by="sre",
        comment="seam test",
        url=url,
    )


def test_it_lists_alerts_with_their_current_annotations(alertmanager_server):
    url = alertmanager_server.url
    labels = {"alertname": "SeamAnnotations", "severity": "warning"}
    services.post_alerts(url, [{"labels": labels, "annotations": {"summary": "first"}}])
    services.post_alerts(url, [{"labels": labels, "annotations": {"summary": "latest"}}])
    [held] = [a for a in alertmanager.list_alerts(url=url) if a.labels == labels]
    assert held.annotations == {"summary": "latest"}
    assert held.starts_at is not None and held.starts_at.tzinfo is not None


def test_it_updates_a_silence_in_place_when_only_its_end_and_comment_change(
    alertmanager_server,
):
    url = alertmanager_server.url
    silence_id = _new(url, Matcher("alertname", "SeamInPlace"))
    silence = alertmanager.get_silence(silence_id, url=url)
    later = silence.ends_at + timedelta(hours=2)
    kept = alertmanager.update_silence(
        silence_id,
        list(silence.matchers),
        starts_at=silence.starts_at,
        ends_at=later,
        created_by=silence.created_by,
        comment="longer",
        url=url,
    )
    assert kept == silence_id
    now = alertmanager.get_silence(silence_id, url=url)
    assert (now.state, now.ends_at, now.comment) == ("active", later, "longer")
    alertmanager.expire_silence(silence_id, url=url)


def test_it_gets_a_replacement_when_the_matchers_change(alertmanager_server):
    url = alertmanager_server.url
    silence_id = _new(url, Matcher("alertname", "SeamReplaced"), Matcher("pod", "a"))
    silence = alertmanager.get_silence(silence_id, url=url)
    new_id = alertmanager.update_silence(
        silence_id,
        [Matcher("alertname", "SeamReplaced")],
        starts_at=silence.starts_at,
        ends_at=silence.ends_at,
        created_by=silence.created_by,
        comment=silence.comment,
        url=url,
    )
    assert new_id != silence_id
    assert alertmanager.get_silence(silence_id, url=url).state == "expired"
    assert alertmanager.get_silence(new_id, url=url).state == "active"
    alertmanager.expire_silence(new_id, url=url)


def test_it_says_an_unknown_silence_is_not_found(alertmanager_server):
    with pytest.raises(AlertmanagerError) as caught:
        alertmanager.get_silence(str(uuid.uuid4()), url=alertmanager_server.url)
    assert caught.value.is_not_found


def test_a_silence_regex_that_backtracks_without_end_is_cut_short(monkeypatch):
    """Alertmanager's RE2 never backtracks; a page matching silences by alerts must not hang
    on one that would in Python (the limit, REGEX_TIMEOUT, turns it into "no match")."""
    from integrations import alertmanager
    from integrations.alertmanager import Matcher

    said: list[str] = []
    monkeypatch.setattr(alertmanager.log, "warning", lambda message, *a: said.append(message))
    hostile = Matcher("pod", "(a|aa)+X", True, True)
    assert hostile.matches({"pod": "a" * 40}) is False
    assert said == ["silence regex %r timed out on %r"]
    assert Matcher("pod", "leanvibe-.*", True, True).matches({"pod": "leanvibe-backend-1"})
    assert not Matcher("pod", "leanvibe-.*", True, False).matches({"pod": "leanvibe-backend-1"})
