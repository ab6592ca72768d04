"""Compatibility proof: the real ``kubectl`` drives the demo cluster."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from demo.kube.resources import START_SECONDS
from demo.scenarios import Scenario

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl missing: run `make setup`")


@pytest.fixture
def kubectl(kubeconfig):
    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [KUBECTL, "--kubeconfig", str(kubeconfig), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    return run


def pods(kubectl, selector: str = "app.kubernetes.io/name=leanvibe") -> list[dict]:
    return json.loads(kubectl("get", "pods", "-l", selector, "-o", "json").stdout)["items"]


def test_it_gets_deployments_statefulsets_pods_and_configmaps(kubectl):
    out = kubectl("get", "deploy,sts,pods,cm").stdout
    for name in (
        "deployment.apps/leanvibe-backend",
        "deployment.apps/redis",
        "statefulset.apps/neo4j",
        "pod/neo4j-0",
        "configmap/leanvibe-config",
    ):
        assert name in out
    assert "3/3" in out
    assert len(pods(kubectl)) == 3


def test_it_scales_the_backend_to_six(kubectl, cluster, clock):
    assert "scaled" in kubectl("scale", "deployment", "leanvibe-backend", "--replicas=6").stdout
    clock.advance(START_SECONDS)
    running = [p for p in pods(kubectl) if p["status"]["phase"] == "Running"]
    assert len(running) == 6
    assert len(cluster.view().backend_pods) == 6
    deployment = json.loads(kubectl("get", "deploy", "leanvibe-backend", "-o", "json").stdout)
    assert deployment["spec"]["replicas"] == 6


def test_it_restarts_a_rollout_with_new_pods(kubectl, clock):
    before = {p["metadata"]["name"] for p in pods(kubectl)}
    assert "restarted" in kubectl("rollout", "restart", "deployment/leanvibe-backend").stdout
    clock.advance(START_SECONDS)
    after = {p["metadata"]["name"] for p in pods(kubectl)}
    assert len(after) == 3 and not before & after
    template = json.loads(kubectl("get", "deploy", "leanvibe-backend", "-o", "json").stdout)
    assert (
        "kubectl.kubernetes.io/restartedAt"
        in template["spec"]["template"]["metadata"]["annotations"]
    )


def test_it_replaces_a_deleted_pod_under_a_new_name(kubectl):
    victim = pods(kubectl)[0]["metadata"]["name"]
    assert f'pod "{victim}" deleted' in kubectl("delete", "pod", victim).stdout
    names = {p["metadata"]["name"] for p in pods(kubectl)}
    assert victim not in names and len(names) == 3


def test_it_serves_pod_logs_with_tail_and_container(kubectl):
    name = pods(kubectl)[0]["metadata"]["name"]
    lines = kubectl("logs", name, "--tail=5", "-c", "backend").stdout.splitlines()
    assert len(lines) == 5
    bad = kubectl("logs", name, "-c", "sidecar", check=False)
    assert bad.returncode != 0 and "container sidecar is not valid" in bad.stderr


def test_it_logs_the_patterns_the_playbook_greps_for_during_an_incident(kubectl, cluster, clock):
    now = clock()
    cluster.scenarios._scenarios[1] = Scenario(1, "error_burst", {}, now - 600, now + 600)
    text = kubectl("logs", "-l", "app.kubernetes.io/name=leanvibe", "--tail=100").stdout
    assert "500 Internal Server Error" in text
    assert "database connection failed: timeout" in text


def test_it_serves_pod_metrics_for_top(kubectl):
    raw = json.loads(
        kubectl(
            "get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/leanvibe-production/pods"
        ).stdout
    )
    assert raw["kind"] == "PodMetricsList"
    assert {c["name"] for item in raw["items"] for c in item["containers"]} == {
        "backend",
        "redis",
        "neo4j",
    }
    top = kubectl("top", "pods", "--sort-by=cpu").stdout
    assert top.splitlines()[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert "leanvibe-backend" in top


def test_it_patches_a_configmap(kubectl, cluster):
    kubectl(
        "patch",
        "configmap",
        "leanvibe-config",
        "--type",
        "merge",
        "-p",
        '{"data":{"CONNECTION_POOL_SIZE":"40"}}',
    )
    assert cluster.view().pool_size == 40


def _client_minor_version(kubectl) -> int:
    version = json.loads(kubectl("version", "--client", "-o", "json").stdout)
    return int("".join(ch for ch in version["clientVersion"]["minor"] if ch.isdigit()))


def test_it_changes_nothing_on_a_server_side_dry_run(kubectl):
    if _client_minor_version(kubectl) < 22:
        pytest.skip(
            "kubectl before 1.22 checks dry-run support in the protobuf OpenAPI "
            "document, which the demo cluster does not serve; the Python client "
            "test covers dryRun=All"
        )
    kubectl("scale", "deployment", "leanvibe-backend", "--replicas=9", "--dry-run=server")
    kubectl("delete", "pod", pods(kubectl)[0]["metadata"]["name"], "--dry-run=server")
    deployment = json.loads(kubectl("get", "deploy", "leanvibe-backend", "-o", "json").stdout)
    assert deployment["spec"]["replicas"] == 3
    assert len(pods(kubectl)) == 3


def test_it_answers_errors_like_the_api_server(kubectl):
    missing = kubectl("get", "deployment", "nope", check=False)
    assert missing.returncode == 1
    assert 'deployments.apps "nope" not found' in missing.stderr
    invalid = kubectl("scale", "statefulset", "neo4j", "--replicas=9999", check=False)
    assert invalid.returncode == 1
    assert "is invalid: spec.replicas" in invalid.stderr


@pytest.mark.parametrize(
    ("scenario_name", "selector", "pattern"),
    [
        ("latency_spike", "app.kubernetes.io/name=leanvibe", "slow_request"),
        ("memory_leak", "app.kubernetes.io/name=leanvibe", "memory"),
        ("neo4j_connection_surge", "app.kubernetes.io/name=leanvibe", "connection"),
        ("neo4j_slow_queries", "app.kubernetes.io/name=neo4j", "Query slow"),
        ("neo4j_connection_surge", "app.kubernetes.io/name=neo4j", "Transaction failed"),
    ],
)
def test_it_logs_each_incident_pattern_only_while_it_runs(
    kubectl, cluster, clock, scenario_name, selector, pattern
):
    quiet = kubectl("logs", "-l", selector, "--tail=200").stdout
    assert pattern not in quiet
    now = clock()
    cluster.scenarios._scenarios[1] = Scenario(1, scenario_name, {}, now - 600, now + 600)
    assert pattern in kubectl("logs", "-l", selector, "--tail=200").stdout
