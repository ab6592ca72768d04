"""A runbook action that takes a pod, at 1,000 pods (DEMO_PODS=1000): the pod is typed, with
a bounded list of suggestions from the cluster (at most 50, those not ready first, and how
many more match), narrowed by what is typed; never a select of every pod."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo import kube
from demo.model import ClusterSize
from runbooks.forms import SUGGESTED_PODS
from runbooks.models import Action
from tests.services import free_port

pytestmark = pytest.mark.django_db

NS = "leanvibe-production"
PODS = 1000


class FrozenClock:
    """The demo cluster's time, moved only by the test (a new pod stays Pending)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def large_cluster(tmp_path: Path, settings) -> Iterator[kube.Cluster]:
    cluster = kube.Cluster(clock=FrozenClock(), size=ClusterSize(PODS, 10))
    port = free_port()
    server = kube.serve(cluster, "127.0.0.1", port)
    path = tmp_path / "kubeconfig"
    path.write_text(kube.kubeconfig(f"http://127.0.0.1:{port}"))
    settings.KUBECONFIG = str(path)
    yield cluster
    server.shutdown()


def _delete_action() -> Action:
    return Action.objects.get(step__runbook__name="HighMemoryUsage", kind="k8s_delete_pod")


def _options(html: str, list_id: str) -> list[str]:
    found = re.search(rf'<datalist id="{list_id}"[^>]*>(.*?)</datalist>', html, re.S)
    assert found, f"no datalist {list_id}"
    return re.findall(r'<option value="([^"]+)"', found.group(1))


def test_it_offers_at_most_fifty_pods_and_says_how_many_more(sre_client, playbook, large_cluster):
    response = sre_client.get("/runbooks/HighMemoryUsage")
    html = response.content.decode()
    delete = _delete_action()
    list_id = f"a{delete.pk}-pod-options"
    assert f'list="{list_id}"' in html  # the pod is typed into an input, not chosen from a select
    options = _options(html, list_id)
    assert len(options) == SUGGESTED_PODS
    assert options == sorted(options)  # all ready: alphabetical
    more = PODS + 2 - SUGGESTED_PODS  # the Redis and Neo4j pods too
    assert f"{SUGGESTED_PODS} of {PODS + 2} pods listed; {more} more: type to narrow" in html
    assert "<select" not in html or "leanvibe-backend-" not in "".join(
        re.findall(r"<select.*?</select>", html, re.S)
    )
    # Two pickers on the page (describe, delete), one list call to the cluster between them,
    # and a page that stays small at 1,000 pods.
    assert len(response.content) < 150_000


def test_it_narrows_the_suggestions_to_what_is_typed(sre_client, playbook, large_cluster):
    pods = large_cluster.view().backend_pods
    wanted = pods[500]
    fragment = sre_client.get(
        "/runbooks/HighMemoryUsage", {"pod_filter": wanted, "pod_namespace": NS}
    ).content.decode()
    assert _options(fragment, "pod-options") == [wanted]
    assert "1 of 1002 pods in leanvibe-production match." in fragment
    suffix = wanted.rsplit("-", 1)[1][:2]
    narrowed = sre_client.get(
        "/runbooks/HighMemoryUsage", {"pod_filter": suffix.upper(), "pod_namespace": NS}
    ).content.decode()
    names = _options(narrowed, "pod-options")
    assert names and len(names) <= SUGGESTED_PODS
    assert all(suffix in name for name in names)
    nothing = sre_client.get(
        "/runbooks/HighMemoryUsage", {"pod_filter": "no-such-pod", "pod_namespace": NS}
    ).content.decode()
    assert _options(nothing, "pod-options") == []
    assert "No pod in leanvibe-production contains “no-such-pod”." in nothing


def test_it_lists_pods_that_are_not_ready_first(sre_client, playbook, large_cluster):
    victim = large_cluster.view().backend_pods[-1]
    large_cluster.delete("", "pods", NS, victim)  # its replacement is Pending until time moves
    names = _options(
        sre_client.get("/runbooks/HighMemoryUsage").content.decode(),
        f"a{_delete_action().pk}-pod-options",
    )
    pending = [
        p
        for p in large_cluster.list_objects("", "pods", NS)["items"]
        if p["status"]["phase"] == "Pending"
    ]
    assert [p["metadata"]["name"] for p in pending] == names[:1]
    assert victim not in names


def test_it_refuses_a_namespace_off_the_allowlist_and_overlong_text(sre_client, playbook):
    response = sre_client.get(
        "/runbooks/HighMemoryUsage", {"pod_filter": "x", "pod_namespace": "kube-system"}
    )
    assert response.status_code == 400
    assert "Namespace must be one of: leanvibe-production." in response.content.decode()
    too_long = sre_client.get("/runbooks/HighMemoryUsage", {"pod_filter": "x" * 254})
    assert too_long.status_code == 400


def test_it_says_when_the_cluster_cannot_list_pods(sre_client, playbook, settings, tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(kube.kubeconfig(f"http://127.0.0.1:{free_port()}"))  # nothing listens
    settings.KUBECONFIG = str(path)
    response = sre_client.get("/runbooks/HighMemoryUsage?pod=leanvibe-backend-x2k9p")
    html = response.content.decode()
    assert response.status_code == 200
    assert "The pod list is unavailable (Kubernetes API unreachable" in html
    assert f'name="a{_delete_action().pk}-pod" value="leanvibe-backend-x2k9p"' in html


def test_it_gives_business_staff_no_pods(business_client, playbook):
    response = business_client.get("/runbooks/HighMemoryUsage", {"pod_filter": "a"})
    assert response.status_code == 403
