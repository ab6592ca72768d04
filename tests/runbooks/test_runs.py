"""Running actions against the real demo cluster and a real Redis: read-only actions run at
once, changes show the server's dry run and wait for a second SRE, the claim makes a
redelivered message a no-op, time limits and dead workers end runs plainly, and every run is
in the audit (CSV too)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import redis
from django.urls import reverse
from django.utils import timezone
from kubernetes import client, config

from runbooks import actions, execution
from runbooks.choices import RunStatus
from runbooks.models import Action, ActionRun
from runbooks.tasks import execute_run
from tests.runbooks.conftest import NS, Seen

pytestmark = pytest.mark.django_db


def action(runbook: str, kind: str, nth: int = 0) -> Action:
    return list(Action.objects.filter(step__runbook__name=runbook, kind=kind))[nth]


def form_data(act: Action, mode: str, **values) -> dict:
    data = {"mode": mode}
    for key, value in {**act.parameters, **values}.items():
        if isinstance(value, dict):
            import json

            value = json.dumps(value)
        data[f"a{act.pk}-{key}"] = value
    return data


def replicas(kubeconfig) -> int:
    api = config.new_client_from_config(config_file=str(kubeconfig))
    return client.AppsV1Api(api).read_namespaced_deployment("leanvibe-backend", NS).spec.replicas


def account(seen: Seen) -> tuple[int, dict[str, str], bytes]:
    """The payment provider's account endpoint: 401 without the key, and an answer that
    repeats it (which the output must not)."""
    if seen.headers.get("Authorization") != "Basic c2tfdGVzdF9zZWNyZXQ6":  # sk_test_secret:
        return 401, {}, b'{"error": "no key"}'
    return 200, {}, b'{"status": "ok", "echo": "sk_test_secret"}'


def test_it_runs_the_http_probe_at_once_and_shows_its_timings(
    sre_client, playbook, run_on_commit, http_servers, point_target
):
    api = http_servers()
    point_target("api", api.url)
    probe = action("LeanVibeHighResponseTime", "http_probe")
    response = run_on_commit(
        sre_client.post, reverse("runbooks:run-action", args=[probe.pk]), form_data(probe, "run")
    )
    run = ActionRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runbooks/runs/{run.pk}"
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.parameters == {"target": "api", "path": "/health"}
    assert [(r.method, r.path) for r in api.requests] == [("GET", "/health")]
    assert f"GET {api.url}/health (target api)" in run.output
    assert "HTTP 200 · Total:" in run.output and "Connect:" in run.output
    assert "First byte:" in run.output
    assert run.approved_by is None


def test_it_fails_a_probe_that_gets_an_error_status(
    sre, playbook, run_on_commit, http_servers, point_target
):
    point_target("api", http_servers().url)
    probe = action("LeanVibeHighResponseTime", "http_probe")
    run = run_on_commit(
        actions.request_run, probe, {"target": "api", "path": "/missing"}, actor=sre
    )
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "HTTP 404" in run.error


def test_it_checks_a_dependency_with_the_credential_its_target_names(
    sre, playbook, run_on_commit, http_servers, point_target, monkeypatch
):
    payments = http_servers(account)
    point_target("payments", f"{payments.url}/v1/account", "STRIPE_SECRET_KEY")
    check = action("LeanVibeHighErrorRate", "dependency_check")
    assert check.parameters == {"target": "payments"}
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    missing = run_on_commit(actions.request_run, check, check.parameters, actor=sre)
    missing.refresh_from_db()
    assert missing.status == RunStatus.FAILED and "STRIPE_SECRET_KEY is not set" in missing.error
    assert not payments.heard_anything
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_secret")
    run = run_on_commit(actions.request_run, check, check.parameters, actor=sre)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert [r.path for r in payments.requests] == ["/v1/account"]
    assert "with STRIPE_SECRET_KEY (value not shown)" in run.output
    assert "sk_test_secret" not in run.output and "[redacted]" in run.output


def test_it_fails_a_run_whose_target_is_no_longer_configured(
    sre, playbook, run_on_commit, settings
):
    """A run queued before an upgrade (a URL in its parameters) or naming a target the
    settings dropped ends as failed, having reached nothing."""
    probe = action("LeanVibeHighResponseTime", "http_probe")
    old = run_on_commit(actions.request_run, probe, {"url": "http://127.0.0.1:9/"}, actor=sre)
    old.refresh_from_db()
    assert old.status == RunStatus.FAILED and "no configured target named None" in old.error
    settings.RUNBOOK_HTTP_TARGETS = {}
    gone = run_on_commit(actions.request_run, probe, {"target": "api", "path": "/"}, actor=sre)
    gone.refresh_from_db()
    assert gone.status == RunStatus.FAILED and "no configured target named 'api'" in gone.error


def test_it_searches_pod_logs_with_the_playbooks_pattern(
    sre, playbook, cluster, cluster_kubeconfig, run_on_commit
):
    cluster.scenarios.start("error_burst", 10, {}, now=cluster.clock() - 300)
    search = action("LeanVibeHighErrorRate", "k8s_logs")
    params = {**search.parameters, "namespace": NS}
    run = run_on_commit(actions.request_run, search, params, actor=sre)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert "== leanvibe-backend-" in run.output
    assert "500 Internal Server Error" in run.output or "ERROR" in run.output
    assert "matching line(s) in 3 pod(s)" in run.output


def test_it_lists_top_pods_by_memory(sre, playbook, cluster_kubeconfig, run_on_commit):
    top = action("HighMemoryUsage", "k8s_top_pods")
    run = run_on_commit(actions.request_run, top, {"namespace": NS, "sort_by": "memory"}, actor=sre)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.output.splitlines()[0].startswith("NAME") and "Mi" in run.output


def test_it_scales_only_after_a_second_sre_approves_the_dry_run(
    sre_client, sre2_client, sre, sre2, playbook, cluster_kubeconfig, run_on_commit
):
    scale = action("LeanVibeHighResponseTime", "k8s_scale")
    url = reverse("runbooks:run-action", args=[scale.pk])
    run_on_commit(sre_client.post, url, form_data(scale, "request", namespace=NS))
    run = ActionRun.objects.get()
    assert run.status == RunStatus.AWAITING_APPROVAL
    assert "- spec.replicas: 3\n+ spec.replicas: 6" in run.preview
    assert "dryRun=All" in run.preview
    assert replicas(cluster_kubeconfig) == 3  # the dry run changed nothing
    page = sre_client.get(f"/runbooks/runs/{run.pk}").content.decode()
    assert 'data-testid="needs-second"' in page and "Approve and run" not in page

    own = run_on_commit(sre_client.post, f"/runbooks/runs/{run.pk}/approve")
    assert own.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL and run.approved_by is None
    with pytest.raises(actions.RunRefused):
        actions.approve_run(run, actor=sre)
    assert replicas(cluster_kubeconfig) == 3

    assert "Approve and run" in sre2_client.get(f"/runbooks/runs/{run.pk}").content.decode()
    run_on_commit(sre2_client.post, f"/runbooks/runs/{run.pk}/approve")
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.requested_by, run.approved_by) == (sre, sre2)
    assert "scaled: 3 → 6 replicas" in run.output
    assert replicas(cluster_kubeconfig) == 6

    audit = sre_client.get("/runbooks/audit?runbook=LeanVibeHighResponseTime").content.decode()
    assert (
        "<td>sre</td>" in audit and "<td>sre2</td>" in audit and "&quot;replicas&quot;: 6" in audit
    )
    rows = list(
        csv.DictReader(io.StringIO(sre_client.get("/runbooks/audit?format=csv").content.decode()))
    )
    assert rows[0]["requested_by"] == "sre" and rows[0]["approved_by"] == "sre2"
    assert rows[0]["status"] == "succeeded" and '"replicas": 6' in rows[0]["parameters"]


def test_it_runs_a_dry_run_at_once_without_changing_anything(
    sre, playbook, cluster_kubeconfig, run_on_commit
):
    scale = action("HighCPUUsage", "k8s_scale")
    params = {"namespace": NS, "deployment": "leanvibe-backend", "replicas": 2}
    run = run_on_commit(actions.request_run, scale, params, actor=sre, dry_run=True)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.dry_run
    assert "+ spec.replicas: 2" in run.output
    assert replicas(cluster_kubeconfig) == 3


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("namespace", "kube-system", "not on the allowlist"),
        ("deployment", "payments", "not on the allowlist"),
        ("replicas", "40", "outside the bounds 1 to 10"),
    ],
)
def test_it_refuses_what_the_allowlist_and_bounds_do_not_allow(
    sre_client, playbook, cluster_kubeconfig, field, value, message
):
    scale = action("HighCPUUsage", "k8s_scale")
    data = form_data(scale, "request", **{"namespace": NS, field: value})
    response = sre_client.post(reverse("runbooks:run-action", args=[scale.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ActionRun.objects.exists()


def test_it_patches_the_configmap_then_restarts_after_approval(
    sre, sre2, playbook, cluster, cluster_kubeconfig, run_on_commit
):
    patch = action("Neo4jHighConnections", "k8s_patch_configmap")
    params = {**patch.parameters, "namespace": NS}
    run = run_on_commit(actions.request_run, patch, params, actor=sre)
    assert "- data.CONNECTION_POOL_SIZE: 20\n+ data.CONNECTION_POOL_SIZE: 40" in run.preview
    assert cluster.view().pool_size == 20
    run_on_commit(actions.approve_run, run, actor=sre2)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert cluster.view().pool_size == 40
    assert "deployment/leanvibe-backend restarted" in run.output


def test_it_deletes_only_pods_of_allowlisted_workloads(
    sre, sre2, playbook, cluster, cluster_kubeconfig, run_on_commit, settings
):
    delete = action("HighMemoryUsage", "k8s_delete_pod")
    pod = cluster.view().backend_pods[0]
    run = run_on_commit(actions.request_run, delete, {"namespace": NS, "pod": pod}, actor=sre)
    assert f"pod/{pod} in {NS} (Running) would be deleted" in run.preview
    run_on_commit(actions.approve_run, run, actor=sre2)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert pod not in cluster.view().backend_pods
    settings.RUNBOOK_WORKLOADS = ["deployment/redis"]
    other = cluster.view().backend_pods[0]
    refused = run_on_commit(actions.request_run, delete, {"namespace": NS, "pod": other}, actor=sre)
    assert "belongs to no allowlisted workload" in refused.preview


def test_it_pings_redis_and_flushes_only_the_typed_database_after_approval(
    sre_client, sre, sre2, playbook, cache_redis, run_on_commit
):
    cache = redis.Redis.from_url(cache_redis)
    cache.set("tenant:1", "x")
    ping = action("LeanVibeHighErrorRate", "redis_ping")
    run = run_on_commit(actions.request_run, ping, {}, actor=sre)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and "PONG from 127.0.0.1:" in run.output

    flush = action("LeanVibeHighResponseTime", "redis_flushdb")
    url = reverse("runbooks:run-action", args=[flush.pk])
    wrong = sre_client.post(url, {"mode": "request", f"a{flush.pk}-confirm": "0"})
    assert wrong.status_code == 400 and "Type the database number, 2" in wrong.content.decode()
    run_on_commit(sre_client.post, url, {"mode": "request", f"a{flush.pk}-confirm": "2"})
    run = ActionRun.objects.get(kind="redis_flushdb")
    assert run.status == RunStatus.AWAITING_APPROVAL and "1 key(s) would be deleted" in run.preview
    assert cache.dbsize() == 1
    run_on_commit(actions.approve_run, run, actor=sre2)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and cache.dbsize() == 0


def test_it_queries_prometheus_through_its_module(
    sre, playbook, run_on_commit, prometheus_server, settings
):
    settings.PROMETHEUS_URL = prometheus_server.url
    promql = action("LowTenantSignupRate", "promql")
    run = run_on_commit(actions.request_run, promql, {"query": "vector(42)"}, actor=sre)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and "{} 42" in run.output
    bad = run_on_commit(actions.request_run, promql, {"query": "sum(("}, actor=sre)
    bad.refresh_from_db()
    assert bad.status == RunStatus.FAILED and "Prometheus rejected" in bad.error


def test_it_refuses_more_runs_than_the_rate_limit(sre, playbook, settings):
    settings.RUNBOOK_RATE_LIMIT = 2
    ping = action("LeanVibeHighErrorRate", "redis_ping")
    actions.request_run(ping, {}, actor=sre)
    actions.request_run(ping, {}, actor=sre)
    with pytest.raises(actions.RunRefused, match="the limit"):
        actions.request_run(ping, {}, actor=sre)
    assert ActionRun.objects.count() == 2


def test_it_never_runs_a_redelivered_message_twice(sre, playbook, cache_redis, eager_celery):
    ping = action("LeanVibeHighErrorRate", "redis_ping")
    run = actions.request_run(ping, {}, actor=sre)  # not committed: nothing queued yet
    execute_run.apply(args=[run.pk])
    execute_run.apply(args=[run.pk])  # the same message again, as after a worker died
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert run.output.count("PONG") == 1


def test_it_does_not_run_a_change_before_approval_or_after_cancel(sre, playbook, eager_celery):
    scale = action("HighCPUUsage", "k8s_scale")
    params = {"namespace": NS, "deployment": "leanvibe-backend", "replicas": 6}
    run = actions.request_run(scale, params, actor=sre, preview="(test)")
    execute_run.apply(args=[run.pk])
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL and not run.output
    actions.cancel_run(run, actor=sre)
    execute_run.apply(args=[run.pk])
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and run.started_at is None


def test_it_ends_a_run_over_its_soft_time_limit_as_failed_with_the_reason(
    sre, playbook, monkeypatch, run_on_commit
):
    from celery.exceptions import SoftTimeLimitExceeded

    from runbooks import executors

    def too_slow(p, emit):
        emit("started")
        raise SoftTimeLimitExceeded()

    monkeypatch.setitem(executors.RUNNERS, "redis_ping", too_slow)
    run = run_on_commit(
        actions.request_run, action("LeanVibeHighErrorRate", "redis_ping"), {}, actor=sre
    )
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("time limit: the action took longer than")
    assert run.output == "started\n"


def test_it_sweeps_runs_whose_worker_died_as_lost_and_past_the_hard_limit_as_failed(
    sre, playbook, settings
):
    ping = action("LeanVibeHighErrorRate", "redis_ping")
    now = timezone.now()

    def running(started_ago: int, heartbeat_ago: int) -> ActionRun:
        run = actions.request_run(ping, {}, actor=sre)
        ActionRun.objects.filter(pk=run.pk).update(
            status=RunStatus.RUNNING,
            started_at=now - timedelta(seconds=started_ago),
            heartbeat_at=now - timedelta(seconds=heartbeat_ago),
            worker="worker@a",
        )
        return run

    died, killed, alive = running(40, 35), running(200, 100), running(40, 5)
    assert execution.sweep_runs(now) == 2
    for run in (died, killed, alive):
        run.refresh_from_db()
    assert died.status == RunStatus.LOST and "worker@a stopped answering" in died.error
    assert killed.status == RunStatus.FAILED and killed.error.startswith("hard time limit")
    assert alive.status == RunStatus.RUNNING
    execute_run.apply(args=[died.pk])  # a redelivery after the worker died
    died.refresh_from_db()
    assert died.status == RunStatus.LOST and not died.output


def test_it_polls_the_run_until_it_is_done(sre_client, sre, playbook, settings):
    ping = action("LeanVibeHighErrorRate", "redis_ping")
    run = actions.request_run(ping, {}, actor=sre)
    polling = sre_client.get(f"/runbooks/runs/{run.pk}", HTTP_HX_REQUEST="true")
    page = polling.content.decode()
    assert polling.status_code == 200 and 'data-live-interval="1"' in page
    assert '<article id="run" class="card" data-live' in page
    ActionRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, output="PONG\n")
    done = sre_client.get(f"/runbooks/runs/{run.pk}", HTTP_HX_REQUEST="true").content.decode()
    assert "PONG" in done
    # once done, the page refreshes at the shared interval (an admin may cancel, another run
    # may be asked for), not every second
    assert f'data-live-interval="{settings.LIVE_REFRESH_SECONDS}"' in done
