"""Compatibility proof: the official ``kubernetes`` Python client (what the panel uses) drives
the demo cluster through the same operations, and sees real ``Status`` errors."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from demo.kube.resources import START_SECONDS

NS = "leanvibe-production"


@pytest.fixture
def api(kubeconfig):
    return config.new_client_from_config(config_file=str(kubeconfig))


def test_it_reads_and_lists_with_label_selectors(api):
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    deployment = apps.read_namespaced_deployment("leanvibe-backend", NS)
    assert deployment.spec.replicas == 3
    assert deployment.spec.selector.match_labels == {
        "app.kubernetes.io/name": "leanvibe",
        "app.kubernetes.io/component": "backend",
    }
    assert apps.read_namespaced_stateful_set("neo4j", NS).status.ready_replicas == 1
    backend = core.list_namespaced_pod(NS, label_selector="app.kubernetes.io/name=leanvibe")
    assert len(backend.items) == 3
    assert all(p.status.phase == "Running" for p in backend.items)
    config_map = core.read_namespaced_config_map("leanvibe-config", NS)
    assert config_map.data["CONNECTION_POOL_SIZE"] == "20"


def test_it_scales_through_the_scale_subresource(api, cluster, clock):
    apps = client.AppsV1Api(api)
    scale = apps.patch_namespaced_deployment_scale(
        "leanvibe-backend", NS, {"spec": {"replicas": 6}}
    )
    assert scale.spec.replicas == 6
    clock.advance(START_SECONDS)
    assert apps.read_namespaced_deployment_scale("leanvibe-backend", NS).status.replicas == 6
    assert len(cluster.view().backend_pods) == 6


def test_it_restarts_with_a_strategic_merge_patch(api, clock):
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    before = {
        p.metadata.name
        for p in core.list_namespaced_pod(
            NS, label_selector="app.kubernetes.io/name=leanvibe"
        ).items
    }
    stamp = dt.datetime.now(dt.UTC).isoformat()
    apps.patch_namespaced_deployment(
        "leanvibe-backend",
        NS,
        {
            "spec": {
                "template": {
                    "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}
                }
            }
        },
    )
    clock.advance(START_SECONDS)
    after = {
        p.metadata.name
        for p in core.list_namespaced_pod(
            NS, label_selector="app.kubernetes.io/name=leanvibe"
        ).items
    }
    assert len(after) == 3 and not before & after


def test_it_changes_nothing_on_dry_run_all(api, cluster):
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    preview = apps.patch_namespaced_deployment_scale(
        "leanvibe-backend", NS, {"spec": {"replicas": 8}}, dry_run="All"
    )
    assert preview.spec.replicas == 8
    core.patch_namespaced_config_map(
        "leanvibe-config", NS, {"data": {"CONNECTION_POOL_SIZE": "60"}}, dry_run="All"
    )
    pod = cluster.view().backend_pods[0]
    core.delete_namespaced_pod(pod, NS, dry_run="All")
    assert apps.read_namespaced_deployment("leanvibe-backend", NS).spec.replicas == 3
    assert cluster.view().pool_size == 20
    assert pod in cluster.view().backend_pods


def test_it_deletes_a_pod_and_a_replacement_appears(api, clock):
    core = client.CoreV1Api(api)
    victim = (
        core.list_namespaced_pod(NS, label_selector="app.kubernetes.io/name=leanvibe")
        .items[0]
        .metadata.name
    )
    core.delete_namespaced_pod(victim, NS)
    clock.advance(START_SECONDS)
    names = [
        p.metadata.name
        for p in core.list_namespaced_pod(
            NS, label_selector="app.kubernetes.io/name=leanvibe"
        ).items
    ]
    assert victim not in names and len(names) == 3


def test_it_serves_logs_with_tail_lines_and_container(api):
    core = client.CoreV1Api(api)
    text = core.read_namespaced_pod_log("neo4j-0", NS, tail_lines=7, container="neo4j")
    assert len(text.splitlines()) == 7


def test_it_serves_pod_metrics(api):
    metrics = client.CustomObjectsApi(api).list_namespaced_custom_object(
        "metrics.k8s.io", "v1beta1", NS, "pods"
    )
    assert len(metrics["items"]) == 5
    assert metrics["items"][0]["containers"][0]["usage"]["cpu"].endswith("m")


def test_it_patches_a_configmap_and_the_workload_sees_it(api, cluster):
    client.CoreV1Api(api).patch_namespaced_config_map(
        "leanvibe-config", NS, {"data": {"CONNECTION_POOL_SIZE": "40"}}
    )
    assert cluster.view().pool_size == 40


def _status(error: ApiException) -> dict:
    return json.loads(error.body)


def test_it_answers_404_as_a_status_object(api):
    with pytest.raises(ApiException) as caught:
        client.AppsV1Api(api).read_namespaced_deployment("nope", NS)
    assert caught.value.status == 404
    assert _status(caught.value) | {"details": {}} == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps "nope" not found',
        "reason": "NotFound",
        "details": {},
        "code": 404,
    }


def test_it_answers_409_on_a_stale_resource_version(api):
    core = client.CoreV1Api(api)
    stale = core.read_namespaced_config_map("leanvibe-config", NS)
    core.patch_namespaced_config_map("leanvibe-config", NS, {"data": {"LOG_LEVEL": "debug"}})
    stale.data["LOG_LEVEL"] = "warning"
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_config_map("leanvibe-config", NS, stale)
    assert caught.value.status == 409
    assert _status(caught.value)["reason"] == "Conflict"
    assert core.read_namespaced_config_map("leanvibe-config", NS).data["LOG_LEVEL"] == "debug"


def test_it_answers_422_on_an_invalid_value(api):
    with pytest.raises(ApiException) as caught:
        client.CoreV1Api(api).patch_namespaced_config_map(
            "leanvibe-config", NS, {"data": {"CONNECTION_POOL_SIZE": 40}}
        )
    assert caught.value.status == 422
    assert _status(caught.value)["reason"] == "Invalid"
    assert "must be a string" in _status(caught.value)["message"]


def test_it_answers_404_for_an_unknown_namespace(api):
    with pytest.raises(ApiException) as caught:
        client.CoreV1Api(api).list_namespaced_pod("elsewhere")
    assert caught.value.status == 404


def test_it_refuses_a_patch_that_would_break_the_pod_template(api, cluster):
    with pytest.raises(ApiException) as caught:
        client.AppsV1Api(api).patch_namespaced_deployment(
            "leanvibe-backend", NS, {"spec": {"template": {"spec": {"containers": "oops"}}}}
        )
    assert caught.value.status == 422
    assert "spec.template.spec.containers" in _status(caught.value)["message"]
    assert len(client.CoreV1Api(api).list_namespaced_pod(NS).items) == 5


def test_it_answers_bad_bodies_with_status_objects(cluster_url):
    import http.client
    import urllib.parse

    path = f"/api/v1/namespaces/{NS}/configmaps/leanvibe-config"

    def send(body: bytes, content_type: str, length: str | None = None) -> tuple[int, dict]:
        host = urllib.parse.urlsplit(cluster_url).netloc
        connection = http.client.HTTPConnection(host, timeout=10)
        connection.putrequest("PATCH", path)
        connection.putheader("Content-Type", content_type)
        connection.putheader("Content-Length", length or str(len(body)))
        connection.endheaders()
        if length is None:
            connection.send(body)
        response = connection.getresponse()
        answer = (response.status, json.loads(response.read()))
        connection.close()
        return answer

    assert send(b"{not json", "application/merge-patch+json")[0] == 400
    assert send(b'[{"op": "add", "path": 7}]', "application/json-patch+json")[0] == 400
    assert send(b"{}", "text/plain")[0] == 415
    code, status = send(b"", "application/merge-patch+json", length=str(64 << 20))
    assert (code, status["kind"], status["reason"]) == (413, "Status", "RequestEntityTooLarge")
    code, status = send(b"", "application/merge-patch+json", length="12abc")
    assert (code, status["reason"]) == (400, "BadRequest")
