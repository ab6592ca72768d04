"""Refusals that help: a styled 403 under the site's navigation, saying why, who may open the
page and who the user is, with the pages their role opens and a way back; the admin tells a
signed-in non-administrator so instead of showing a sign-in form."""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(settings):
    settings.PROMETHEUS_URL = "http://127.0.0.1:9"
    call_command("load_playbook", stdout=open(os.devnull, "w"))  # noqa: SIM115


def test_it_tells_business_staff_who_may_open_an_sre_dashboard(loaded, business_client):
    response = business_client.get("/d/kubernetes-overview")
    page = response.content.decode()
    assert response.status_code == 403
    assert 'class="mainnav"' in page and 'data-testid="refusal"' in page
    assert "This dashboard is not for your role." in page
    assert "Who may open it: <strong>SRE on call, Administrators</strong>" in page
    assert 'data-testid="refusal-user">business<' in page and "Business staff" in page
    assert 'href="/d/business-metrics"' in page  # what the role does open
    assert 'data-testid="refusal-home"' in page and 'data-testid="refusal-switch"' in page
    assert "no-cache" in response["Cache-Control"]


def test_it_names_the_roles_holding_the_permission_a_page_needs(loaded, business_client):
    response = business_client.get("/runbooks/audit")
    page = response.content.decode()
    assert response.status_code == 403
    assert 'data-testid="refusal"' in page and 'class="mainnav"' in page


def test_the_admin_tells_a_signed_in_non_administrator_so(business_client, sre_client):
    for client, name in ((business_client, "business"), (sre_client, "sre")):
        response = client.get("/admin/", follow=True)
        page = response.content.decode()
        assert response.status_code == 403
        assert f"You are signed in as {name}, who cannot administer" in page
        assert 'name="password"' not in page  # no sign-in form as if signed out
        assert 'class="mainnav"' in page


def test_the_admin_still_signs_in_an_administrator(client, admin_user):
    page = client.get("/admin/login/").content.decode()
    assert 'name="password"' in page


def test_a_missing_page_is_said_under_the_navigation(loaded, sre_client):
    response = sre_client.get("/d/no-such-board")
    page = response.content.decode()
    assert response.status_code == 404
    assert 'data-testid="not-found"' in page and 'class="mainnav"' in page
    assert "No dashboard &#x27;no-such-board&#x27;." in page
