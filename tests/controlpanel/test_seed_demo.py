from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from controlpanel.demo_users import DEMO_USERS


def _user_with_password(*, username: str, password: str):
    """The user if the password is theirs (checked on the row: the login page, with its
    throttling backend, is exercised by the sign-in test below)."""
    user = get_user_model().objects.filter(username=username).first()
    return user if user is not None and user.check_password(password) else None


@pytest.mark.django_db
def test_it_creates_the_demo_users_with_the_demo_password(settings):
    settings.DEMO_MODE = True
    settings.DEMO_PASSWORD = "demo-pass-for-test"
    call_command("seed_demo")
    for demo in DEMO_USERS:
        user = _user_with_password(username=demo.username, password="demo-pass-for-test")
        assert user is not None, demo.username
    assert _user_with_password(username="admin", password="demo-pass-for-test").is_superuser
    business = _user_with_password(username="business", password="demo-pass-for-test")
    assert business.has_perm("controlpanel.view_business")
    assert not business.has_perm("controlpanel.view_operations")
    assert _user_with_password(username="sre2", password="demo-pass-for-test").has_perm(
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


def _seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


@pytest.mark.django_db
def test_it_leaves_passwords_and_sessions_alone_when_seeded_again(
    settings, client, django_user_model
):
    """Setup seeds on every `make run`; a restart must not sign anyone out."""
    settings.DEMO_MODE = True
    assert "Demo users created: sre, sre2, business, admin" in _seed()
    client.post("/accounts/login/", {"username": "sre", "password": settings.DEMO_PASSWORD})
    assert client.get("/").status_code == 200
    hashes = dict(django_user_model.objects.values_list("username", "password"))
    session_key = client.session.session_key

    output = _seed()

    assert dict(django_user_model.objects.values_list("username", "password")) == hashes
    assert "created" not in output and "DEMO_PASSWORD" not in output
    assert "Demo users ready: sre, sre2, business, admin" in output
    assert client.get("/").status_code == 200  # still signed in, same session
    assert client.session.session_key == session_key


@pytest.mark.django_db
def test_it_applies_a_changed_demo_password_and_says_to_whom(settings, client):
    settings.DEMO_MODE = True
    _seed()
    client.post("/accounts/login/", {"username": "sre", "password": settings.DEMO_PASSWORD})
    settings.DEMO_PASSWORD = "a-new-demo-password"

    output = _seed()

    assert "DEMO_PASSWORD applied to sre, sre2, business, admin" in output
    for demo in DEMO_USERS:
        assert _user_with_password(username=demo.username, password="a-new-demo-password")
    assert _user_with_password(username="sre", password="leanvibe-demo") is None
    assert client.get("/").status_code == 302  # the old password's session has ended


@pytest.mark.django_db
def test_it_resets_only_the_user_whose_password_differs(settings, django_user_model):
    settings.DEMO_MODE = True
    _seed()
    business = django_user_model.objects.get(username="business")
    business.set_password("changed-in-the-admin")
    business.save()
    sre_hash = django_user_model.objects.get(username="sre").password

    output = _seed()

    assert "DEMO_PASSWORD applied to business:" in output
    assert _user_with_password(username="business", password=settings.DEMO_PASSWORD)
    assert django_user_model.objects.get(username="sre").password == sre_hash


@pytest.mark.django_db
def test_it_puts_back_a_demo_users_role_but_keeps_their_name(settings, django_user_model):
    settings.DEMO_MODE = True
    _seed()
    admin = django_user_model.objects.get(username="admin")
    admin.is_superuser = False
    admin.first_name = "Renamed"
    admin.save()
    admin.groups.clear()

    _seed()

    admin.refresh_from_db()
    assert admin.is_superuser and admin.is_staff
    assert admin.first_name == "Renamed"
    assert admin.groups.filter(name="sre").exists()
