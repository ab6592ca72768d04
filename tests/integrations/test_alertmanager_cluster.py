"""An Alertmanager gossip cluster behind ALERTMANAGER_URL: a silence made through one peer is
seen through the other; with a peer down, silences and the firing list are read from the one
that answers and the pages say which peer is down; the webhook stores an alert once though
both peers deliver it."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from firing.models import FiringAlert
from integrations import alertmanager
from tests import services

pytestmark = pytest.mark.services

TOKEN = "cluster-test-token"
BLACKHOLE = "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n"


def wait_for(what: str, predicate, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def peer(data_dir: Path, config: str, gossip: int, other: int, port: int) -> services.Service:
    """One Alertmanager of a two-peer cluster gossiping on 127.0.0.1, serving on ``port``
    (every port chosen together, so that none is another's)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "alertmanager.yml").write_text(config)
    url = f"http://127.0.0.1:{port}"
    return services.Service(
        "alertmanager",
        [
            "prometheus-alertmanager",
            f"--config.file={data_dir / 'alertmanager.yml'}",
            f"--storage.path={data_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--cluster.listen-address=127.0.0.1:{gossip}",
            f"--cluster.advertise-address=127.0.0.1:{gossip}",
            f"--cluster.peer=127.0.0.1:{other}",
            "--cluster.settle-timeout=2s",
            "--cluster.pushpull-interval=2s",
            "--cluster.gossip-interval=50ms",
        ],
        port,
        data_dir,
        lambda: services.http_ok(f"{url}/-/ready"),
        url,
    )


def cluster(tmp: Path, config: str) -> list[services.Service]:
    a, b, web_a, web_b = services.free_ports(4)
    peers = [peer(tmp / "a", config, a, b, web_a), peer(tmp / "b", config, b, a, web_b)]
    for service in peers:
        service.start()
    return peers


@pytest.fixture
def two_peers(tmp_path, settings) -> Iterator[list[services.Service]]:
    peers = cluster(tmp_path, BLACKHOLE)
    settings.ALERTMANAGER_URL = ",".join(p.url for p in peers)
    alertmanager.asking_order.clear()
    yield peers
    for service in peers:
        service.stop()
    alertmanager.asking_order.clear()


def make_silence(comment: str) -> str:
    now = datetime.now(UTC)
    return alertmanager.create_silence(
        [alertmanager.Matcher("alertname", "LeanVibeHighErrorRate")],
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        created_by="sre",
        comment=comment,
    )


def test_a_silence_made_through_one_peer_is_seen_through_the_other(two_peers):
    a, b = two_peers
    silence_id = make_silence("deploying the fix")
    wait_for(
        "the silence to reach the other peer",
        lambda: any(s.id == silence_id for s in alertmanager.list_silences(url=b.url)),
    )
    assert alertmanager.get_silence(silence_id, url=a.url).comment == "deploying the fix"


def test_with_a_peer_down_the_cluster_is_read_and_written_through_the_other(two_peers):
    a, b = two_peers
    silence_id = make_silence("before the loss")
    wait_for(
        "gossip",
        lambda: any(s.id == silence_id for s in alertmanager.list_silences(url=b.url)),
    )
    a.stop()
    assert any(s.id == silence_id for s in alertmanager.list_silences())
    assert alertmanager.peers_down() and alertmanager.peers_down()[0][0] == a.url
    second = make_silence("during the loss")  # written to the peer that answers
    assert alertmanager.get_silence(second, url=b.url).comment == "during the loss"
    alertmanager.expire_silence(second)
    assert alertmanager.list_alerts() == []


@pytest.mark.django_db
def test_the_silences_page_says_which_peer_is_down_not_an_error(two_peers, sre_client):
    a, _ = two_peers
    a.stop()
    page = sre_client.get("/alerts/silences").content.decode()
    assert 'data-testid="alertmanager-peers-down"' in page and a.url in page
    assert 'data-testid="alertmanager-error"' not in page


@pytest.mark.django_db(transaction=True)
def test_the_webhook_stores_an_alert_once_though_both_peers_deliver_it(
    live_server, tmp_path, settings
):
    settings.ALERTMANAGER_WEBHOOK_TOKEN = TOKEN
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    config = services.webhook_alertmanager_config(
        f"{live_server.url}/api/alertmanager/webhook", token_file
    )
    peers = cluster(tmp_path, config)
    try:
        alert = {
            "labels": {"alertname": "LeanVibeHighErrorRate", "severity": "warning"},
            "annotations": {"summary": "5xx above 1 %"},
            "startsAt": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        }
        for service in peers:  # Prometheus sends every alert to every peer
            services.post_alerts(service.url, [alert])
        rows = FiringAlert.objects.filter(alertname="LeanVibeHighErrorRate")
        wait_for("deliveries from both peers", lambda: rows.filter(deliveries__gte=3).exists())
        assert rows.count() == 1
    finally:
        for service in peers:
            service.stop()


@pytest.fixture
def dropping() -> Iterator[str]:
    """A 'peer' that reads each request and drops the connection without an answer: the
    request may have landed."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.settimeout(2)
            with contextlib.suppress(OSError):
                conn.recv(65536)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    server.close()


def test_a_write_dropped_after_sending_is_not_sent_again_elsewhere(tmp_path, settings, dropping):
    [other] = [service.start() for service in [peer(tmp_path / "b", BLACKHOLE, *ports())]]
    try:
        settings.ALERTMANAGER_URL = f"{dropping},{other.url}"
        alertmanager.asking_order.clear()
        with pytest.raises(alertmanager.AlertmanagerError):
            make_silence("sent once")
        assert alertmanager.list_silences(url=other.url) == []  # not made a second time
        # a read is safe to repeat: it goes on to the peer that answers
        assert alertmanager.list_silences() == []
    finally:
        other.stop()
        alertmanager.asking_order.clear()


def ports() -> tuple[int, int, int]:
    """A lone peer's gossip port, the absent other's, and its web port."""
    gossip, other, web = services.free_ports(3)
    return gossip, other, web
