"""What each kind of action does: check its parameters, preview a change (the server's own
dry run), and run it, writing its output line by line through ``emit``.

Each system is reached through its one module (``kube``, ``cache``, ``probes``, ``graph``,
``autoscaling``, ``integrations.prometheus``, ``notifications.delivery``); this module only decides
which call a kind makes and how its answer reads.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings

from integrations import aws_autoscaling as autoscaling
from integrations import http_probe as probes
from integrations import kubernetes as kube
from integrations import neo4j_graph as graph
from integrations import prometheus
from integrations import redis_cache as cache
from notifications import delivery
from notifications.delivery import Message
from notifications.models import NotificationChannel
from runbooks.kinds import KINDS

Emit = Callable[[str], None]
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Alert labels that may fill a placeholder (anything else in a query string is ignored).
LABELS = ("tenant_tier", "pod", "instance", "namespace", "endpoint", "severity", "service")


class ActionFailed(Exception):
    """The action ran and did not succeed; the message is the reason shown with the run."""


FAILURES: tuple[type[Exception], ...] = (
    ActionFailed,
    kube.KubeError,
    cache.CacheError,
    probes.ProbeError,
    graph.GraphError,
    autoscaling.AutoScalingError,
)


# --- placeholders ------------------------------------------------------------------------


def context(labels: dict[str, str] | None = None) -> dict[str, str]:
    """What placeholders are filled with: settings first, then the alert's labels."""
    values = {
        "namespace": settings.RUNBOOK_NAMESPACES[0] if settings.RUNBOOK_NAMESPACES else "",
        "timestamp": str(int(time.time())),
    }
    for name, value in (labels or {}).items():
        if name in LABELS and value:
            values[name] = str(value)
    return values


def fill(value: Any, values: dict[str, str]) -> Any:
    """Placeholders replaced in every string of ``value``; unknown ones become empty, so that
    the form asks for them instead of running with ``{pod}``."""
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), value)
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    return value


# --- parameters --------------------------------------------------------------------------


def target_names() -> tuple[str, ...]:
    return tuple(settings.RUNBOOK_HTTP_TARGETS)


def http_target(name: Any) -> probes.Target:
    """The configured target of that name, read when the action runs (a run queued with a
    name the settings no longer have, or with no target at all, fails here)."""
    config = settings.RUNBOOK_HTTP_TARGETS.get(name) if isinstance(name, str) else None
    if config is None:
        raise ActionFailed(
            f"no configured target named {name!r} (RUNBOOK_HTTP_TARGETS: "
            f"{', '.join(target_names()) or 'none'})"
        )
    return probes.Target(name, config["url"], config.get("credential_env", ""))


def clean(kind_name: str, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed parameters and a problem per field (allowlist, bounds, confirmation). Only the
    kind's own parameters are read: anything else in ``raw`` (a ``url``, a variable's name)
    is dropped."""
    kind = KINDS[kind_name]
    params: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for param in kind.params:
        value: Any = raw.get(param.name)
        if isinstance(value, str):
            value = value.strip()
        if isinstance(value, str) and len(value) > param.max_length:
            errors[param.name] = (
                f"At most {param.max_length:,} characters (this is {len(value):,})."
            )
            continue
        if isinstance(value, str) and "\x00" in value:
            errors[param.name] = "Null characters are not allowed."
            continue
        if value in (None, ""):
            if param.required:
                errors[param.name] = "Required."
            params[param.name] = None if param.type in ("int", "json") else ""
            continue
        if param.type == "int":
            try:
                value = int(value)
            except (TypeError, ValueError):
                errors[param.name] = "A whole number."
                continue
            low, high = param.minimum, param.maximum
            if (low is not None and value < low) or (high is not None and value > high):
                errors[param.name] = f"Between {low:,} and {high:,}."
                continue
        elif param.type == "json" and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                errors[param.name] = f"Not JSON: {exc}"
                continue
        elif param.type == "choice" and value not in param.choices:
            errors[param.name] = f"One of {', '.join(param.choices)}."
            continue
        elif param.type == "regex":
            try:
                re.compile(value)
            except re.error as exc:
                errors[param.name] = f"Not a regular expression: {exc}"
                continue
        elif param.type == "target" and value not in settings.RUNBOOK_HTTP_TARGETS:
            # A name from the settings, never a URL, host, port or variable of the user's.
            errors[param.name] = f"One of the configured targets: {', '.join(target_names())}."
            continue
        elif param.type == "path":
            problem = probes.path_problem(str(value))
            if problem:
                errors[param.name] = f"{problem[0].upper()}{problem[1:]}."
                continue
        params[param.name] = value
    if not errors:
        errors.update(_check(kind_name, params))
    return params, errors


def _check(kind_name: str, params: dict[str, Any]) -> dict[str, str]:
    """The allowlist and bounds, checked before anything is queued."""
    errors: dict[str, str] = {}

    def guard(field: str, check: Callable[[], None]) -> None:
        try:
            check()
        except kube.KubeError as exc:
            errors[field] = str(exc)

    if "namespace" in params:
        guard("namespace", lambda: kube.check_namespace(params["namespace"]))
    if kind_name == "k8s_scale":
        guard("deployment", lambda: kube.check_workload("deployment", params["deployment"]))
        guard("replicas", lambda: kube.check_replicas(params["replicas"]))
    if kind_name == "k8s_restart" or (kind_name == "k8s_patch_configmap" and params["restart"]):
        field = "workload" if kind_name == "k8s_restart" else "restart"
        guard(field, lambda: kube.check_workload(*kube.parse_workload(params[field])))
    if kind_name == "k8s_patch_configmap":
        guard("configmap", lambda: kube.check_configmap(params["configmap"]))
        data = params["data"]
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            errors["data"] = 'A mapping of names to text values: {"CONNECTION_POOL_SIZE": "40"}'
    if kind_name == "redis_flushdb" and params["confirm"] != cache.database():
        errors["confirm"] = f"Type the database number, {cache.database()}, to flush it."
    if (
        kind_name == "notify"
        and not NotificationChannel.objects.filter(name=params["channel"]).exists()
    ):
        errors["channel"] = (
            f"No notification channel named {params['channel']!r}; add one in the admin."
        )
    return errors


# --- preview (dry run) -------------------------------------------------------------------


def preview(kind_name: str, params: dict[str, Any]) -> str:
    """What the change would do, from the system's own dry run where it has one."""
    try:
        return _preview(kind_name, params)
    except FAILURES as exc:
        return f"Dry run failed: {exc}"


RESTARTED_AT = "spec.template.metadata.annotations[kubectl.kubernetes.io/restartedAt]"


def _preview(kind_name: str, p: dict[str, Any]) -> str:
    if kind_name == "k8s_scale":
        was, will = kube.scale(p["namespace"], p["deployment"], p["replicas"], dry_run=True)
        return (
            f"deployment/{p['deployment']} in {p['namespace']} (server dry run, dryRun=All)\n"
            f"- spec.replicas: {was}\n+ spec.replicas: {will}"
        )
    if kind_name == "k8s_restart":
        stamp_was, stamp_will = kube.restart(p["namespace"], p["workload"], dry_run=True)
        return (
            f"{p['workload']} in {p['namespace']} (server dry run, dryRun=All)\n"
            f"- {RESTARTED_AT}: {stamp_was}\n"
            f"+ {RESTARTED_AT}: {stamp_will}\n"
            "every pod is replaced, one after the other"
        )
    if kind_name == "k8s_delete_pod":
        phase = kube.delete_pod(p["namespace"], p["pod"], dry_run=True)
        return (
            f"pod/{p['pod']} in {p['namespace']} ({phase}) would be deleted "
            "(server dry run, dryRun=All); its controller starts a replacement"
        )
    if kind_name == "k8s_patch_configmap":
        before, after = kube.patch_configmap(
            p["namespace"], p["configmap"], p["data"], dry_run=True
        )
        lines = [f"configmap/{p['configmap']} in {p['namespace']} (server dry run, dryRun=All)"]
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                lines.append(f"- data.{key}: {before.get(key, '(absent)')}")
                lines.append(f"+ data.{key}: {after.get(key, '(absent)')}")
        if len(lines) == 1:
            lines.append("no change: the configmap already holds these values")
        if p.get("restart"):
            lines.append(f"then: rollout restart of {p['restart']}")
        return "\n".join(lines)
    if kind_name == "redis_flushdb":
        return f"FLUSHDB on {cache.where()}: {cache.dbsize()} key(s) would be deleted"
    if kind_name == "aws_desired_capacity":
        capacity = autoscaling.desired_capacity(p["group"])
        return f"Auto Scaling group {p['group']}\n- desired: {capacity}\n+ desired: {p['capacity']}"
    if kind_name == "neo4j_write":
        return f"Cypher to run on {settings.NEO4J_URL or '(NEO4J_URL not set)'}:\n{p['query']}"
    return ""


# --- running -----------------------------------------------------------------------------


def execute(kind_name: str, p: dict[str, Any], emit: Emit, *, dry_run: bool = False) -> None:
    """Run one action. Raises one of ``FAILURES`` when it did not succeed."""
    if dry_run:
        text = _preview(kind_name, p) or "this action has no dry run; nothing was done"
        for line in text.splitlines():
            emit(line)
        return
    runner = RUNNERS.get(kind_name)
    if runner is None:
        raise ActionFailed(f"no runner for {kind_name}")
    runner(p, emit)


def _probe(p: dict[str, Any], emit: Emit) -> None:
    probes.probe(http_target(p.get("target")), p.get("path") or "", emit)


def _send(p: dict[str, Any], emit: Emit) -> None:
    target = http_target(p.get("target"))
    probes.send(
        p["method"], target, p.get("path") or "", p.get("json_body"), p.get("expect_status"), emit
    )


def _promql(p: dict[str, Any], emit: Emit) -> None:

    result = prometheus.instant_query(p["query"])
    emit(f"{p['query']}")
    if not result.is_ok:
        raise ActionFailed(f"Prometheus {result.failure}: {result.reason}")
    # the count first: a long answer is cut by the run's output limit, the count is not
    emit(f"{len(result.samples):,} series ({result.seconds * 1000:.0f} ms)")
    for sample in result.samples:
        labels = ", ".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
        emit(f"{{{labels}}} {sample.value:g}")


def _notify(p: dict[str, Any], emit: Emit) -> None:
    channel = NotificationChannel.objects.filter(name=p["channel"]).first()
    if channel is None:
        raise ActionFailed(f"no notification channel named {p['channel']!r}")
    message = Message(f"[runbook] {p['message'][:120]}", p["message"], category="runbooks")
    [sent] = delivery.send(message, channels=[channel])
    if not sent.is_delivered:
        raise ActionFailed(f"not delivered to {channel.name}: {sent.error}")
    emit(f"delivered to {channel.name} ({channel.get_kind_display()} {channel.target})")


def _scale(p: dict[str, Any], emit: Emit) -> None:
    before, after = kube.scale(p["namespace"], p["deployment"], p["replicas"], dry_run=False)
    emit(f"deployment/{p['deployment']} scaled: {before} → {after} replicas")


def _restart(workload: str, namespace: str, emit: Emit) -> None:
    _, after = kube.restart(namespace, workload, dry_run=False)
    emit(f"{workload} restarted (restartedAt {after})")


def _delete_pod(p: dict[str, Any], emit: Emit) -> None:
    kube.delete_pod(p["namespace"], p["pod"], dry_run=False)
    emit(f"pod/{p['pod']} deleted")


def _patch(p: dict[str, Any], emit: Emit) -> None:
    before, after = kube.patch_configmap(p["namespace"], p["configmap"], p["data"], dry_run=False)
    for key in sorted(p["data"]):
        emit(f"configmap/{p['configmap']} data.{key}: {before.get(key)} → {after.get(key)}")
    if p.get("restart"):
        _restart(p["restart"], p["namespace"], emit)


def _logs(p: dict[str, Any], emit: Emit) -> None:
    kube.search_logs(
        p["namespace"],
        p["source"],
        p["pattern"],
        ignore_case=p["ignore_case"] == "yes",
        tail=p["tail"],
        last=p.get("last"),
        emit=emit,
    )


def _flush(p: dict[str, Any], emit: Emit) -> None:
    keys = cache.flushdb()
    emit(f"FLUSHDB on {cache.where()}: {keys} key(s) deleted")


def _aws(p: dict[str, Any], emit: Emit) -> None:
    before, after = autoscaling.set_desired_capacity(p["group"], p["capacity"])
    emit(f"Auto Scaling group {p['group']}: desired capacity {before} → {after}")


RUNNERS: dict[str, Callable[[dict[str, Any], Emit], None]] = {
    "http_probe": _probe,
    "http_request": _send,
    "dependency_check": lambda p, emit: probes.dependency(http_target(p.get("target")), emit),
    "promql": _promql,
    "notify": _notify,
    "k8s_pods": lambda p, emit: kube.list_pods(p["namespace"], p.get("label_selector", ""), emit),
    "k8s_describe_pod": lambda p, emit: kube.describe_pod(p["namespace"], p["pod"], emit),
    "k8s_top_pods": lambda p, emit: kube.top_pods(p["namespace"], p["sort_by"], emit),
    "k8s_logs": _logs,
    "k8s_scale": _scale,
    "k8s_restart": lambda p, emit: _restart(p["workload"], p["namespace"], emit),
    "k8s_delete_pod": _delete_pod,
    "k8s_patch_configmap": _patch,
    "redis_ping": lambda p, emit: emit(f"PONG from {cache.where()} in {cache.ping():.3f} s"),
    "redis_flushdb": _flush,
    "neo4j_query": lambda p, emit: graph.run(p["query"], emit),
    "neo4j_write": lambda p, emit: graph.run(p["query"], emit),
    "aws_desired_capacity": _aws,
}


def json_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
