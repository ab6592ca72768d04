"""The runbook's remedies change what the alert saw, through the demo cluster's API."""

from __future__ import annotations

from demo import workload
from demo.kube.resources import START_SECONDS

NS = "leanvibe-production"


def memory_percent(env: workload.DemoEnvironment) -> dict[str, float]:
    env.tick()
    sample = env.sample
    assert sample is not None
    used = {
        dict(k[1])["pod"]: v
        for k, v in sample.gauges.items()
        if k[0] == "container_memory_usage_bytes"
    }
    limit = {
        dict(k[1])["pod"]: v
        for k, v in sample.gauges.items()
        if k[0] == "container_spec_memory_limit_bytes"
    }
    return {pod: 100 * used[pod] / limit[pod] for pod in env.cluster.view().backend_pods}


def test_it_clears_a_memory_leak_with_a_rollout_restart(demo_env, clock):
    demo_env.start_scenario("memory_leak", 30, {})
    assert min(memory_percent(demo_env).values()) > 80
    demo_env.cluster.patch(
        "apps",
        "deployments",
        NS,
        "leanvibe-backend",
        {
            "spec": {
                "template": {
                    "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}
                }
            }
        },
        "application/strategic-merge-patch+json",
    )
    clock.advance(START_SECONDS)
    assert max(memory_percent(demo_env).values()) < 80


def test_it_clears_the_leak_of_a_deleted_pod_only(demo_env, clock):
    demo_env.start_scenario("memory_leak", 30, {})
    victim = demo_env.cluster.view().backend_pods[0]
    demo_env.cluster.delete("", "pods", NS, victim)
    clock.advance(START_SECONDS)
    memory = memory_percent(demo_env)
    assert victim not in memory
    assert sorted(v > 80 for v in memory.values()) == [False, True, True]


def test_it_relieves_the_connection_surge_with_a_larger_pool(demo_env):
    demo_env.start_scenario("neo4j_connection_surge", 30, {})

    def connections() -> float:
        demo_env.tick()
        assert demo_env.sample is not None
        return next(
            v for k, v in demo_env.sample.gauges.items() if k[0] == "neo4j_bolt_connections_active"
        )

    assert connections() > 0.95 * 250
    demo_env.cluster.patch(
        "",
        "configmaps",
        NS,
        "leanvibe-config",
        {"data": {"CONNECTION_POOL_SIZE": "40"}},
        "application/merge-patch+json",
    )
    assert connections() < 0.8 * 250
