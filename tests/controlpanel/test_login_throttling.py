"""Repeated failed logins are refused for a while (django-axes), the lockout is logged and shown
to administrators; and the pages carry the security headers a reviewer expects."""

from __future__ import annotations

import logging

import pytest
from axes.models import AccessAttempt

from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"

pytestmark = pytest.mark.django_db


def _login(client, username: str, password: str, address: str = "192.0.2.10"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_it_locks_out_a_user_after_repeated_failures_even_with_the_right_password(
    client, sre, settings, caplog
):
    caplog.set_level(logging.WARNING, logger="axes")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "sre", "wrong").status_code == 200  # the form, with its error
    assert _login(client, "sre", "wrong").status_code == 429  # the limit reached: paused
    response = _login(client, "sre", PASSWORD)
    assert response.status_code == 429
    assert 'data-testid="locked-out"' in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Logged (username and address masked in the log; the admin shows them).
    assert any("Locking out" in record.getMessage() for record in caplog.records)


def test_it_locks_out_one_address_guessing_many_users(client, settings, django_user_model):
    for i in range(settings.AXES_FAILURE_LIMIT):
        _login(client, f"guess{i}", "wrong", address="198.51.100.7")
    assert _login(client, "someone-else", "wrong", address="198.51.100.7").status_code == 429
    # Another address is not punished for it.
    assert _login(client, "someone-else", "wrong", address="198.51.100.8").status_code == 200


def test_it_forgets_earlier_failures_after_a_successful_login(client, sre, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "sre", "wrong")
    assert _login(client, "sre", PASSWORD).status_code == 302
    client.logout()
    assert _login(client, "sre", "wrong").status_code == 200  # counting starts again


def test_it_shows_lockouts_to_administrators(client, admin_client, sre, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "sre", "wrong")
    assert AccessAttempt.objects.filter(username="sre").exists()
    page = admin_client.get("/admin/axes/accessattempt/").content.decode()
    assert "sre" in page and "192.0.2.10" in page


def test_it_sets_the_security_headers(client):
    response = client.get(LOGIN)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
