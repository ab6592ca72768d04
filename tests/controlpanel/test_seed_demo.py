from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from controlpanel.demo_users import DEMO_USERS


@pytest.mark.django_db
def test_it_creates_the_demo_users_with_the_demo_password(settings):
    settings.DEMO_MODE = True
    settings.DEMO_PASSWORD = "demo-pass-for-test"
    call_command("seed_demo")
    for demo in DEMO_USERS:
        user = authenticate(username=demo.username, password="demo-pass-for-test")
        assert user is not None, demo.username
    assert authenticate(username="admin", password="demo-pass-for-test").is_superuser
    business = authenticate(username="business", password="demo-pass-for-test")
    assert business.has_perm("controlpanel.view_business")
    assert not business.has_perm("controlpanel.view_operations")
    assert authenticate(username="sre2", password="demo-pass-for-test").has_perm(
        "controlpanel.approve_actions"
    )


@pytest.mark.django_db
def test_it_is_idempotent(settings, django_user_model):
    settings.DEMO_MODE = True
    call_command("seed_demo")
    call_command("seed_demo")
    assert django_user_model.objects.count() == len(DEMO_USERS)


@pytest.mark.django_db
def test_it_refuses_outside_demo_mode(settings, django_user_model):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="only created in demo mode"):
        call_command("seed_demo")
    assert django_user_model.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("username", [demo.username for demo in DEMO_USERS])
def test_it_lets_each_demo_user_sign_in_through_the_login_page(settings, client, username):
    settings.DEMO_MODE = True
    call_command("seed_demo")
    response = client.post(
        "/accounts/login/", {"username": username, "password": settings.DEMO_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
