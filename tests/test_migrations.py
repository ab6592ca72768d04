"""A database made before the layout split (notifications, firing and health moved out of alerts
and controlpanel) migrates forward with every row, permission grant and acknowledgement kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# Where the apps that changed stood on main before the split; every other app at its latest.
BEFORE = {
    "alerts": "0002_tuning_firing_notifications",
    "controlpanel": "0001_initial",
    "firing": None,
    "notifications": None,
    "health": None,
    "incidents": None,  # came later, on top of the split
}
AT = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)


def _latest() -> list[tuple[str, str]]:
    return sorted(MigrationExecutor(connection).loader.graph.leaf_nodes())


def _migrate(targets: list[tuple[str, str | None]]):
    MigrationExecutor(connection).migrate(targets)
    # The models as they were at those nodes ("app, None": the app not there at all).
    nodes = [(app, name) for app, name in targets if name is not None]
    return MigrationExecutor(connection).loader.project_state(nodes).apps


def _before() -> list[tuple[str, str | None]]:
    others = [(app, name) for app, name in _latest() if app not in BEFORE]
    return others + list(BEFORE.items())


@pytest.mark.django_db(transaction=True)
def test_it_keeps_every_row_when_models_move_to_their_own_apps():
    try:
        _check_rows_survive_the_move()
    finally:
        _migrate(_latest())  # leave the schema as every other test expects it


def _check_rows_survive_the_move() -> None:
    old = _migrate(_before())
    user = old.get_model("auth", "User").objects.create(username="sre-old")
    alert = old.get_model("alerts", "Alert").objects.create(
        name="OldAlert", summary="s", service="backend", severities=["warning"]
    )
    old.get_model("alerts", "TuningNote").objects.create(
        alert=alert, kind="note", note="kept", before={}, after={}, author=user
    )
    channel = old.get_model("alerts", "NotificationChannel").objects.create(
        name="oncall", kind="email", target="oncall@leanvibe.test"
    )
    old.get_model("alerts", "Notification").objects.create(
        channel=channel, subject="[WARNING] x", body="b", is_delivered=True
    )
    old.get_model("alerts", "FiringAlert").objects.create(
        fingerprint="abc",
        starts_at=AT,
        status="firing",
        alertname="OldAlert",
        acknowledged_by=user,
        acknowledged_at=AT,
        ack_comment="on it since before the split",
    )
    old.get_model("controlpanel", "Heartbeat").objects.create(name="beat", last_seen=AT)
    content_type = old.get_model("contenttypes", "ContentType").objects.get_or_create(
        app_label="alerts", model="notificationchannel"
    )[0]
    permission = old.get_model("auth", "Permission").objects.get_or_create(
        content_type=content_type, codename="view_notificationchannel", defaults={"name": "view"}
    )[0]
    group = old.get_model("auth", "Group").objects.create(name="channel-readers")
    group.permissions.add(permission)

    new = _migrate(_latest())

    channel = new.get_model("notifications", "NotificationChannel").objects.get()
    assert channel.name == "oncall"
    assert new.get_model("notifications", "Notification").objects.get().channel_id == channel.pk
    firing = new.get_model("firing", "FiringAlert").objects.get()
    assert (firing.alertname, firing.ack_comment) == ("OldAlert", "on it since before the split")
    [ack] = new.get_model("firing", "Acknowledgement").objects.all()
    assert (ack.alert_id, ack.actor_id, ack.at) == (firing.pk, user.pk, AT)
    assert new.get_model("health", "Heartbeat").objects.get().name == "beat"
    assert new.get_model("alerts", "TuningNote").objects.get().note == "kept"
    # The group still grants the permission, now under the model's new app.
    granted = new.get_model("auth", "Group").objects.get(name="channel-readers").permissions.get()
    assert (granted.content_type.app_label, granted.codename) == (
        "notifications",
        "view_notificationchannel",
    )
