"""DEMO_PODS and DEMO_NODES: the demo cluster's size, bounded where it enters, the same pods
and nodes in the metrics and in the Kubernetes API, and a history that stays affordable."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from kubernetes import client, config

from demo import kube, workload
from demo.backfill import BUSINESS_HISTORY_DAYS, STEP, per_pod_days, simulate
from demo.model import (
    BUSINESS_FAMILIES,
    DAY,
    FEATURES,
    ClusterSize,
    SizeError,
    baseline_cluster,
    cluster_size,
)
from tests.helpers import REPO, clean_env
from tests.services import free_port

NS = "leanvibe-production"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEMO_PODS": "0"}, "DEMO_PODS='0' must be a whole number from 1 to 5,000."),
        ({"DEMO_PODS": "5001"}, "DEMO_PODS='5001' must be a whole number from 1 to 5,000."),
        ({"DEMO_PODS": "1e3"}, "DEMO_PODS='1e3' must be a whole number from 1 to 5,000."),
        ({"DEMO_PODS": "-3"}, "DEMO_PODS='-3' must be a whole number from 1 to 5,000."),
        ({"DEMO_NODES": "501"}, "DEMO_NODES='501' must be a whole number from 1 to 500."),
        ({"DEMO_NODES": "many"}, "DEMO_NODES='many' must be a whole number from 1 to 500."),
    ],
)
def test_it_refuses_a_size_out_of_bounds(env, message):
    with pytest.raises(SizeError) as refused:
        cluster_size(env)
    assert str(refused.value) == message


def test_it_keeps_the_demo_as_it_was_by_default():
    size = cluster_size({})
    assert (size.pods, size.nodes) == (3, 3)
    assert size.backend_pods == (
        "leanvibe-backend-7d9f8b6c4-h8r2n",
        "leanvibe-backend-7d9f8b6c4-m4q7z",
        "leanvibe-backend-7d9f8b6c4-x2k9p",
    )
    assert size.node_names == ("leanvibe-node-1", "leanvibe-node-2", "leanvibe-node-3")
    assert cluster_size({"DEMO_PODS": " 1000 ", "DEMO_NODES": "100"}) == ClusterSize(1000, 100)


def test_it_stops_the_stack_on_a_bad_size_with_the_reason(tmp_path):
    env = clean_env(VAR_DIR=str(tmp_path / "var"), DEMO_PODS="100000")
    result = subprocess.run(
        [sys.executable, "-m", "stack", "env"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "DEMO_PODS='100000' must be a whole number from 1 to 5,000." in result.stderr
    fine = subprocess.run(
        [sys.executable, "-m", "stack", "env"],
        env={**env, "DEMO_PODS": "1000", "DEMO_NODES": "100"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "export DEMO_PODS=1000\n" in fine.stdout and "export DEMO_NODES=100\n" in fine.stdout


def _series_labels(text: str, name: str, label: str) -> set[str]:
    found = set()
    for line in text.splitlines():
        if line.startswith(name + "{"):
            inner = line[len(name) + 1 : line.index("}")]
            pairs = dict(p.split("=", 1) for p in inner.split(","))
            found.add(pairs[label].strip('"'))
    return found


@pytest.fixture(scope="module")
def large_env(tmp_path_factory) -> workload.DemoEnvironment:
    tmp = tmp_path_factory.mktemp("large")
    env = workload.DemoEnvironment(tmp / "state.json", size=ClusterSize(1000, 100))
    yield env
    env.stop()


def test_it_runs_the_same_thousand_pods_in_the_metrics_and_the_api(large_env, tmp_path):
    text = large_env.metrics_text()
    pods = {
        p
        for p in _series_labels(text, "container_cpu_usage_seconds_total", "pod")
        if p.startswith("leanvibe-backend-")
    }
    assert len(pods) == 1000
    assert len(_series_labels(text, "node_cpu_seconds_total", "instance")) == 100
    assert len(_series_labels(text, "node_filesystem_avail_bytes", "instance")) == 100

    port = free_port()
    server = kube.serve(large_env.cluster, "127.0.0.1", port)
    try:
        path = tmp_path / "kubeconfig"
        path.write_text(kube.kubeconfig(f"http://127.0.0.1:{port}"))
        api = config.new_client_from_config(config_file=str(path))
        core = client.CoreV1Api(api)
        listed = core.list_namespaced_pod(
            NS, label_selector="app.kubernetes.io/component=backend"
        ).items
        nodes = core.list_node().items
        deployment = client.AppsV1Api(api).read_namespaced_deployment("leanvibe-backend", NS)
    finally:
        server.shutdown()
    assert {p.metadata.name for p in listed} == pods
    assert deployment.spec.replicas == 1000
    assert {n.metadata.name for n in nodes} == set(
        _series_labels(text, "node_cpu_seconds_total", "instance")
    )
    # Spread: 1,002 pods (with Redis and Neo4j) over 100 nodes, 10 or 11 each.
    per_node = Counter(
        p["spec"]["nodeName"] for p in large_env.cluster.list_objects("", "pods", NS)["items"]
    )
    assert set(per_node) == {n.metadata.name for n in nodes}
    assert set(per_node.values()) <= {10, 11}


def test_it_keeps_the_business_series_longest_and_each_pods_shortest():
    end = time.time()
    size = ClusterSize(1000, 100)
    history = simulate(
        end - 0.5 * DAY,
        end,
        None,
        cluster=baseline_cluster(size),
        business_from=end - 1 * DAY,
        per_pod_from=end - 0.1 * DAY,
        with_incidents=False,
    )
    for key, column in history.series.items():
        name, labels = key
        at = history.times[history.starts.get(key, 0)]
        family = name.removesuffix("_bucket").removesuffix("_sum").removesuffix("_count")
        is_per_pod = name.startswith("node_") or dict(labels).get("pod", "").startswith(
            "leanvibe-backend-"
        )
        if family in BUSINESS_FAMILIES:
            assert at == pytest.approx(end - DAY, abs=STEP), key
        elif is_per_pod:
            assert at == pytest.approx(end - 0.1 * DAY, abs=STEP), key
        else:
            assert at == pytest.approx(end - 0.5 * DAY, abs=STEP), key
        # Every column reaches the last sample: nothing shifted.
        assert history.starts.get(key, 0) + len(column) == len(history.times), key
    assert per_pod_days(35, ClusterSize()) == 35
    assert 1.5 < per_pod_days(35, size) < 3
    assert per_pod_days(35, ClusterSize(5000, 500)) >= 0.5
    assert BUSINESS_HISTORY_DAYS == 95


def test_it_gives_feature_adoption_plausible_percentages():
    """Uses in the last 24 h per active tenant, as the business dashboard shows it: 6 % to
    115 %, only the feature used more than once a day above 100 %."""
    percents = {name: 100 * per_day for name, per_day in FEATURES.items()}
    assert sum(p > 100 for p in percents.values()) == 1
    assert all(5 <= p <= 120 for p in percents.values())


def test_it_backfills_through_promtool_at_a_thousand_pods_in_reasonable_time(tmp_path: Path):
    """A short history of 1,000 pods (the whole first start is measured in the report): the
    per-pod series are written, and the marker says how many days each kind got."""
    import json

    from demo.backfill import MARKER, backfill

    result = backfill(
        tmp_path, days=0.2, redis_exporter_port=None, size=ClusterSize(1000, 100), business_days=0.4
    )
    assert result.startswith("backfilled 0.2 days (0.4 days of the business series)")
    marker = json.loads((tmp_path / "prometheus" / "data" / MARKER).read_text())
    assert marker["per_pod_days"] == pytest.approx(0.2)
    assert marker["business_start"] == pytest.approx(marker["end"] - 0.4 * DAY, abs=240)
