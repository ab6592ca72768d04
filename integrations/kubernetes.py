"""The one module that talks to Kubernetes, through the official ``kubernetes`` client only.

The cluster comes from ``settings.KUBECONFIG`` (the stack writes ``var/kubeconfig`` for the
demo cluster), else the in-cluster service account, else ``~/.kube/config``. Every write names
its namespace and workload, and both must be on the allowlist in settings; every write can be
sent with ``dryRun=All`` first, which the API server checks and answers without changing
anything — that answer is the diff shown before approval.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError

Emit = Callable[[str], None]
TIMEOUT = 10  # seconds per API request


class KubeError(Exception):
    """The cluster refused or could not be reached; the message is for the person on call."""


def _api() -> client.ApiClient:
    try:
        if settings.KUBECONFIG:
            return config.new_client_from_config(config_file=settings.KUBECONFIG)
        try:
            config.load_incluster_config()
            return client.ApiClient()
        except config.ConfigException:
            return config.new_client_from_config()
    except (config.ConfigException, OSError) as exc:
        raise KubeError(f"no cluster configured (KUBECONFIG): {exc}") from exc


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the API and turn its failures into one error with the server's own message
    (``_request_timeout`` is TIMEOUT unless given)."""
    kwargs.setdefault("_request_timeout", TIMEOUT)
    try:
        return fn(*args, **kwargs)
    except ApiException as exc:
        message = exc.reason or ""
        with contextlib.suppress(TypeError, ValueError, AttributeError):
            message = json.loads(exc.body or "{}").get("message", message)
        raise KubeError(f"Kubernetes answered {exc.status}: {message}") from exc
    except (HTTPError, OSError) as exc:
        raise KubeError(f"Kubernetes API unreachable: {exc}") from exc


# --- the allowlist -----------------------------------------------------------------------


def check_namespace(namespace: str) -> None:
    if namespace not in settings.RUNBOOK_NAMESPACES:
        raise KubeError(
            f"namespace {namespace!r} is not on the allowlist "
            f"({', '.join(settings.RUNBOOK_NAMESPACES)}; RUNBOOK_NAMESPACES)"
        )


def parse_workload(text: str) -> tuple[str, str]:
    """``deployment/NAME`` or ``statefulset/NAME`` (kubectl's spelling) as (kind, name)."""
    kind, _, name = text.strip().partition("/")
    kind = {"deploy": "deployment", "sts": "statefulset"}.get(kind.lower(), kind.lower())
    if kind not in ("deployment", "statefulset") or not name:
        raise KubeError(f"{text!r} is not deployment/NAME or statefulset/NAME")
    return kind, name


def check_workload(kind: str, name: str) -> None:
    if f"{kind}/{name}" not in settings.RUNBOOK_WORKLOADS:
        raise KubeError(
            f"{kind}/{name} is not on the allowlist "
            f"({', '.join(settings.RUNBOOK_WORKLOADS)}; RUNBOOK_WORKLOADS)"
        )


def check_configmap(name: str) -> None:
    if name not in settings.RUNBOOK_CONFIGMAPS:
        raise KubeError(
            f"configmap {name!r} is not on the allowlist "
            f"({', '.join(settings.RUNBOOK_CONFIGMAPS)}; RUNBOOK_CONFIGMAPS)"
        )


def check_replicas(replicas: int) -> None:
    low, high = settings.RUNBOOK_SCALE_MIN, settings.RUNBOOK_SCALE_MAX
    if not low <= replicas <= high:
        raise KubeError(
            f"{replicas} replicas is outside the bounds {low} to {high} "
            "(RUNBOOK_SCALE_MIN, RUNBOOK_SCALE_MAX)"
        )


def _read_workload(api: client.ApiClient, namespace: str, kind: str, name: str) -> Any:
    apps = client.AppsV1Api(api)
    if kind == "deployment":
        return _call(apps.read_namespaced_deployment, name, namespace)
    return _call(apps.read_namespaced_stateful_set, name, namespace)


def _selector(workload: Any) -> str:
    labels = workload.spec.selector.match_labels or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _check_pod(api: client.ApiClient, namespace: str, pod: str) -> Any:
    """The pod, if it belongs to an allowlisted workload (its labels match that selector)."""
    found = _call(client.CoreV1Api(api).read_namespaced_pod, pod, namespace)
    labels = found.metadata.labels or {}
    for entry in settings.RUNBOOK_WORKLOADS:
        kind, name = parse_workload(entry)
        try:
            workload = _read_workload(api, namespace, kind, name)
        except KubeError:
            continue
        wanted = workload.spec.selector.match_labels or {}
        if wanted and all(labels.get(k) == v for k, v in wanted.items()):
            return found
    raise KubeError(f"pod {pod!r} belongs to no allowlisted workload")


# --- reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PodBrief:
    """What a pod picker shows of a pod: its name, phase, readiness and node."""

    name: str
    phase: str
    is_ready: bool
    node: str


def pod_briefs(namespace: str, *, timeout: float = 1.5) -> list[PodBrief]:
    """Every pod of an allowlisted namespace, in one list call with a short timeout (a page
    offers them as suggestions). The answer is read as JSON for the few fields used: the
    client's model objects cost seconds at a thousand pods."""
    check_namespace(namespace)
    core = client.CoreV1Api(_api())
    answer = _call(
        core.list_namespaced_pod, namespace, _preload_content=False, _request_timeout=timeout
    )
    try:
        items = json.loads(answer.data).get("items") or []
    except (ValueError, AttributeError) as exc:
        raise KubeError(f"Kubernetes answered a pod list that is not JSON: {exc}") from exc
    briefs = []
    for item in items:
        status = item.get("status") or {}
        conditions = status.get("conditions") or []
        briefs.append(
            PodBrief(
                name=str((item.get("metadata") or {}).get("name", "")),
                phase=str(status.get("phase") or ""),
                is_ready=any(
                    c.get("type") == "Ready" and c.get("status") == "True" for c in conditions
                ),
                node=str((item.get("spec") or {}).get("nodeName") or ""),
            )
        )
    return briefs


def list_pods(namespace: str, label_selector: str, emit: Emit) -> None:
    check_namespace(namespace)
    core = client.CoreV1Api(_api())
    pods = _call(core.list_namespaced_pod, namespace, label_selector=label_selector or "")
    emit(f"{'NAME':<36} {'STATUS':<10} {'NODE':<20} IP")
    for pod in pods.items:
        emit(
            f"{pod.metadata.name:<36} {pod.status.phase or '':<10} "
            f"{pod.spec.node_name or '':<20} {pod.status.pod_ip or ''}"
        )
    emit(f"{len(pods.items)} pod(s)")


def describe_pod(namespace: str, pod: str, emit: Emit) -> None:
    check_namespace(namespace)
    found = _call(client.CoreV1Api(_api()).read_namespaced_pod, pod, namespace)
    emit(f"Name:       {found.metadata.name}")
    emit(f"Namespace:  {found.metadata.namespace}")
    emit(f"Node:       {found.spec.node_name or ''}")
    emit(f"Status:     {found.status.phase}")
    labels = ", ".join(f"{k}={v}" for k, v in sorted((found.metadata.labels or {}).items()))
    emit(f"Labels:     {labels}")
    for container in found.spec.containers:
        limits = (container.resources.limits or {}) if container.resources else {}
        requests = (container.resources.requests or {}) if container.resources else {}
        emit(f"Container:  {container.name} ({container.image})")
        emit(f"  Limits:   {limits}")
        emit(f"  Requests: {requests}")


def _quantity(text: str) -> float:
    """CPU in cores or memory in bytes from a Kubernetes quantity ("250m", "512Mi", "1Gi")."""
    units = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 1e3,
             "M": 1e6, "G": 1e9}  # fmt: skip
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", text.strip())
    if not match:
        return 0.0
    return float(match.group(1)) * units.get(match.group(2), 1.0)


def top_pods(namespace: str, sort_by: str, emit: Emit) -> None:
    check_namespace(namespace)
    metrics = _call(
        client.CustomObjectsApi(_api()).list_namespaced_custom_object,
        "metrics.k8s.io",
        "v1beta1",
        namespace,
        "pods",
    )
    rows = []
    for item in metrics.get("items", []):
        cpu = sum(_quantity(c["usage"]["cpu"]) for c in item.get("containers", []))
        memory = sum(_quantity(c["usage"]["memory"]) for c in item.get("containers", []))
        rows.append((item["metadata"]["name"], cpu, memory))
    rows.sort(key=lambda r: r[1] if sort_by == "cpu" else r[2], reverse=True)
    emit(f"{'NAME':<36} {'CPU(cores)':>10} {'MEMORY(bytes)':>14}")
    for name, cpu, memory in rows:
        emit(f"{name:<36} {cpu * 1000:>9.0f}m {memory / 2**20:>12.0f}Mi")


def _pods_of(api: client.ApiClient, namespace: str, source: str) -> list[tuple[str, str]]:
    """(pod, container) pairs named by a label selector, pod/NAME or a workload."""
    core = client.CoreV1Api(api)
    if source.startswith("pod/"):
        pod = _call(core.read_namespaced_pod, source[4:], namespace)
        return [(pod.metadata.name, pod.spec.containers[0].name)]
    if "/" in source and "=" not in source:
        kind, name = parse_workload(source)
        try:
            selector = _selector(_read_workload(api, namespace, kind, name))
        except KubeError:
            # kubectl logs deployment/neo4j works on a statefulset too: try the other kind.
            other = "statefulset" if kind == "deployment" else "deployment"
            selector = _selector(_read_workload(api, namespace, other, name))
    else:
        selector = source
    pods = _call(core.list_namespaced_pod, namespace, label_selector=selector)
    return [(p.metadata.name, p.spec.containers[0].name) for p in pods.items]


def search_logs(
    namespace: str,
    source: str,
    pattern: str,
    *,
    ignore_case: bool,
    tail: int,
    last: int | None,
    emit: Emit,
) -> int:
    """``kubectl logs … | grep [-i] -E PATTERN | tail -N`` per pod; returns the match count."""
    check_namespace(namespace)
    api = _api()
    core = client.CoreV1Api(api)
    regex = re.compile(pattern or ".", re.IGNORECASE if ignore_case else 0)
    pods = _pods_of(api, namespace, source)
    if not pods:
        emit(f"no pods match {source!r}")
        return 0
    total = 0
    for pod, container in pods:
        text = _call(
            core.read_namespaced_pod_log, pod, namespace, container=container, tail_lines=tail
        )
        matches = [line for line in str(text).splitlines() if regex.search(line)]
        total += len(matches)
        shown = matches[-last:] if last else matches
        emit(f"== {pod}: {len(matches)} of {tail} lines match /{pattern}/")
        for line in shown:
            emit(f"{pod} {line}")
    emit(f"{total} matching line(s) in {len(pods)} pod(s)")
    return total


# --- changes -------------------------------------------------------------------------------


def _dry(dry_run: bool) -> dict[str, str]:
    return {"dry_run": "All"} if dry_run else {}


def scale(namespace: str, deployment: str, replicas: int, *, dry_run: bool) -> tuple[int, int]:
    """Set a deployment's replicas; (before, after) as the API server answered."""
    check_namespace(namespace)
    check_workload("deployment", deployment)
    check_replicas(replicas)
    apps = client.AppsV1Api(_api())
    before = _call(apps.read_namespaced_deployment_scale, deployment, namespace).spec.replicas
    answer = _call(
        apps.patch_namespaced_deployment_scale,
        deployment,
        namespace,
        {"spec": {"replicas": replicas}},
        **_dry(dry_run),
    )
    return int(before or 0), int(answer.spec.replicas or 0)


def restart(namespace: str, workload: str, *, dry_run: bool) -> tuple[str, str]:
    """``kubectl rollout restart``: a new ``restartedAt`` annotation on the pod template.
    Returns (before, after) of the annotation."""
    check_namespace(namespace)
    kind, name = parse_workload(workload)
    check_workload(kind, name)
    api = _api()
    apps = client.AppsV1Api(api)
    current = _read_workload(api, namespace, kind, name)
    annotations = current.spec.template.metadata.annotations or {}
    key = RESTARTED_AT
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"spec": {"template": {"metadata": {"annotations": {key: stamp}}}}}
    patch = (
        apps.patch_namespaced_deployment
        if kind == "deployment"
        else apps.patch_namespaced_stateful_set
    )
    answer = _call(patch, name, namespace, body, **_dry(dry_run))
    after = (answer.spec.template.metadata.annotations or {}).get(key, "")
    return annotations.get(key, "(never restarted)"), after


RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def last_rollouts(
    namespaces: list[str], workloads: list[str], *, timeout: float = 1.5
) -> list[tuple[str, str, dt.datetime]]:
    """(namespace, kind/name, when) of each allowed deployment's last rollout: the pod
    template's ``restartedAt`` (``kubectl rollout restart``), or the deployment's creation.
    One list call per namespace, with a short timeout: the dashboards draw these as markers."""
    api = _api()
    apps = client.AppsV1Api(api)
    found = []
    for namespace in namespaces:
        answer = _call(apps.list_namespaced_deployment, namespace, _request_timeout=timeout)
        for item in answer.items:
            workload = f"deployment/{item.metadata.name}"
            if workload not in workloads:
                continue
            stamp = (item.spec.template.metadata.annotations or {}).get(RESTARTED_AT)
            moment = item.metadata.creation_timestamp
            if stamp:
                with contextlib.suppress(ValueError):
                    moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            if moment is not None:
                found.append((namespace, workload, moment))
    return found


def delete_pod(namespace: str, pod: str, *, dry_run: bool) -> str:
    """Delete a pod of an allowlisted workload (its controller starts a replacement)."""
    check_namespace(namespace)
    api = _api()
    found = _check_pod(api, namespace, pod)
    _call(client.CoreV1Api(api).delete_namespaced_pod, pod, namespace, **_dry(dry_run))
    return str(found.status.phase or "")


def patch_configmap(
    namespace: str, name: str, data: dict[str, str], *, dry_run: bool
) -> tuple[dict[str, str], dict[str, str]]:
    """Merge ``data`` into a configmap; (before, after) of its data."""
    check_namespace(namespace)
    check_configmap(name)
    core = client.CoreV1Api(_api())
    before = dict(_call(core.read_namespaced_config_map, name, namespace).data or {})
    answer = _call(
        core.patch_namespaced_config_map, name, namespace, {"data": data}, **_dry(dry_run)
    )
    return before, dict(answer.data or {})
