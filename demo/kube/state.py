"""The demo cluster's objects in memory: workloads reconcile their pods, writes are checked
like the real API server's, and the workload reads the state it simulates."""

from __future__ import annotations

import copy
import hashlib
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from demo import logs
from demo.kube.patches import (
    apply_patch,
    field_value,
    parse_field_selector,
    parse_label_selector,
)
from demo.kube.resources import (
    MAX_REPLICAS,
    START_SECONDS,
    ApiError,
    Obj,
    Resource,
    now_iso,
    random_suffix,
    resource,
)
from demo.model import BACKEND_MEMORY_LIMIT, NAMESPACE, ClusterView
from demo.scenarios import ScenarioBook

# --- the cluster state ---------------------------------------------------------------------


class Cluster:
    """Objects by (group, plural, namespace, name), with resourceVersions and owners."""

    def __init__(
        self, scenarios: ScenarioBook | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.scenarios = scenarios or ScenarioBook()
        self.clock = clock
        # Set by the workload: (cpu cores, memory bytes) a pod uses now, for metrics.k8s.io.
        self.usage: Callable[[str], tuple[float, float]] | None = None
        self._lock = threading.RLock()
        self._objects: dict[tuple[str, str, str, str], Obj] = {}
        # Per workload: the digest of its pod template and the pod-template-hash it maps to.
        self._template_hashes: dict[tuple[str, str], tuple[str, str]] = {}
        self._version = 1000
        self._created = self.clock() - 12 * 86400
        self._seed()

    # ---- seed
    def _seed(self) -> None:
        self._put(
            "",
            "namespaces",
            "",
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": NAMESPACE,
                    "labels": {"kubernetes.io/metadata.name": NAMESPACE},
                },
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            },
        )
        self._put(
            "",
            "configmaps",
            NAMESPACE,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "leanvibe-config",
                    "namespace": NAMESPACE,
                    "labels": {"app.kubernetes.io/name": "leanvibe"},
                },
                "data": {
                    "CONNECTION_POOL_SIZE": "20",
                    "LOG_LEVEL": "info",
                    "CACHE_TTL_SECONDS": "3600",
                },
            },
        )
        self._put_workload(
            "deployments",
            "Deployment",
            "leanvibe-backend",
            3,
            {"app.kubernetes.io/name": "leanvibe", "app.kubernetes.io/component": "backend"},
            "backend",
            "ghcr.io/leanvibe/backend:2.0.4",
            BACKEND_MEMORY_LIMIT,
            ["x2k9p", "m4q7z", "h8r2n"],
            "7d9f8b6c4",
        )
        self._put_workload(
            "deployments",
            "Deployment",
            "redis",
            1,
            {"app.kubernetes.io/name": "redis"},
            "redis",
            "redis:7.2",
            512 * 2**20,
            ["q9w2e"],
            "5c7b9d8f6",
        )
        self._put_workload(
            "statefulsets",
            "StatefulSet",
            "neo4j",
            1,
            {"app.kubernetes.io/name": "neo4j"},
            "neo4j",
            "neo4j:5.15-enterprise",
            4 * 2**30,
            None,
            None,
        )

    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

    def _put(self, group: str, plural: str, namespace: str, obj: Obj) -> Obj:
        meta = obj["metadata"]
        uid_source = f"{plural}/{namespace}/{meta['name']}/{self._version}"
        meta.setdefault("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, uid_source)))
        meta.setdefault("creationTimestamp", now_iso(self._created))
        meta["resourceVersion"] = self._next_version()
        if namespace:
            meta["namespace"] = namespace
        self._objects[(group, plural, namespace, meta["name"])] = obj
        return obj

    def _put_workload(
        self,
        plural: str,
        kind: str,
        name: str,
        replicas: int,
        selector: dict[str, str],
        container: str,
        image: str,
        memory_limit: int,
        pod_suffixes: list[str] | None,
        template_hash: str | None,
    ) -> None:
        spec: Obj = {
            "replicas": replicas,
            "selector": {"matchLabels": dict(selector)},
            "template": {
                "metadata": {"labels": dict(selector), "annotations": {}},
                "spec": {
                    "containers": [
                        {
                            "name": container,
                            "image": image,
                            "resources": {
                                "limits": {"memory": str(memory_limit), "cpu": "1"},
                                "requests": {"memory": str(memory_limit // 2), "cpu": "250m"},
                            },
                            "envFrom": (
                                [{"configMapRef": {"name": "leanvibe-config"}}]
                                if container == "backend"
                                else []
                            ),
                        }
                    ]
                },
            },
        }
        if kind == "Deployment":
            spec["strategy"] = {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            }
        else:
            spec["serviceName"] = name
            spec["updateStrategy"] = {"type": "RollingUpdate"}
        obj = {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": {
                "name": name,
                "namespace": NAMESPACE,
                "labels": dict(selector),
                "generation": 1,
                "annotations": {},
            },
            "spec": spec,
            "status": {},
        }
        self._put("apps", plural, NAMESPACE, obj)
        self._reconcile(
            plural, name, suffixes=pod_suffixes, template_hash=template_hash, started=self._created
        )

    # ---- reconciliation: pods follow their owner's replicas and template
    def _template_hash(self, plural: str, owner: Obj, preset: str | None) -> str:
        """The pod-template-hash: unchanged while the template is, new when it changes."""
        digest = hashlib.sha1(  # noqa: S324 - a fingerprint, not security
            json.dumps(owner["spec"]["template"], sort_keys=True).encode()
        ).hexdigest()
        key = (plural, owner["metadata"]["name"])
        known = self._template_hashes.get(key)
        if known and known[0] == digest:
            return known[1]
        pod_hash = preset or digest[:9]
        self._template_hashes[key] = (digest, pod_hash)
        return pod_hash

    def _pods_of(self, owner: Obj) -> list[Obj]:
        uid = owner["metadata"]["uid"]
        return [
            o
            for (g, p, ns, _), o in self._objects.items()
            if g == ""
            and p == "pods"
            and ns == owner["metadata"]["namespace"]
            and any(ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences", []))
        ]

    def _reconcile(
        self,
        plural: str,
        name: str,
        *,
        suffixes: list[str] | None = None,
        template_hash: str | None = None,
        started: float | None = None,
    ) -> None:
        owner = self._objects[("apps", plural, NAMESPACE, name)]
        wanted = int(owner["spec"]["replicas"])
        current_hash = self._template_hash(plural, owner, template_hash)
        pods = self._pods_of(owner)
        stale = [
            p for p in pods if p["metadata"]["labels"].get("pod-template-hash") != current_hash
        ]
        for pod in stale:  # a new template replaces every pod (restart, image change)
            self._delete_pod_object(pod)
        pods = [p for p in pods if p not in stale]
        if owner["kind"] == "StatefulSet":
            names = [f"{name}-{i}" for i in range(wanted)]
            existing = {p["metadata"]["name"] for p in pods}
            for pod in pods:
                if pod["metadata"]["name"] not in names:
                    self._delete_pod_object(pod)
            for pod_name in names:
                if pod_name not in existing:
                    self._new_pod(owner, pod_name, current_hash, started)
        else:
            pods.sort(key=lambda p: p["metadata"]["creationTimestamp"])
            for pod in pods[wanted:]:
                self._delete_pod_object(pod)
            for i in range(max(wanted - len(pods), 0)):
                suffix = suffixes[i] if suffixes and i < len(suffixes) else random_suffix()
                self._new_pod(owner, f"{name}-{current_hash}-{suffix}", current_hash, started)
        self._update_owner_status(owner)

    def _new_pod(
        self, owner: Obj, pod_name: str, template_hash: str, started: float | None
    ) -> None:
        template = copy.deepcopy(owner["spec"]["template"])
        created = started if started is not None else self.clock()
        labels = {**template["metadata"].get("labels", {}), "pod-template-hash": template_hash}
        if owner["kind"] == "StatefulSet":
            labels["statefulset.kubernetes.io/pod-name"] = pod_name
        pod: Obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod_name,
                "namespace": NAMESPACE,
                "labels": labels,
                "annotations": dict(template["metadata"].get("annotations", {})),
                "creationTimestamp": now_iso(created),
                "ownerReferences": [
                    {
                        "apiVersion": owner["apiVersion"],
                        "kind": "ReplicaSet" if owner["kind"] == "Deployment" else owner["kind"],
                        "name": (
                            f"{owner['metadata']['name']}-{template_hash}"
                            if owner["kind"] == "Deployment"
                            else owner["metadata"]["name"]
                        ),
                        "uid": owner["metadata"]["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": {
                **template["spec"],
                "nodeName": random.choice(  # noqa: S311
                    ["leanvibe-node-1", "leanvibe-node-2", "leanvibe-node-3"]
                ),
                "restartPolicy": "Always",
            },
            "status": {},
        }
        pod["metadata"]["_createdAt"] = created
        self._put("", "pods", NAMESPACE, pod)

    def _delete_pod_object(self, pod: Obj) -> None:
        self._objects.pop(("", "pods", pod["metadata"]["namespace"], pod["metadata"]["name"]), None)

    def _update_owner_status(self, owner: Obj) -> None:
        pods = self._pods_of(owner)
        ready = sum(1 for p in pods if self._is_running(p))
        status = {
            "observedGeneration": owner["metadata"].get("generation", 1),
            "replicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "updatedReplicas": len(pods),
        }
        if owner["kind"] == "StatefulSet":
            status.update(currentReplicas=len(pods), updateRevision=owner["metadata"]["name"])
        else:
            status["conditions"] = [
                {
                    "type": "Available",
                    "status": "True" if ready else "False",
                    "reason": "MinimumReplicasAvailable",
                }
            ]
        owner["status"] = status

    def _is_running(self, pod: Obj) -> bool:
        return self.clock() - pod["metadata"]["_createdAt"] >= START_SECONDS

    def _render_pod(self, pod: Obj) -> Obj:
        """The stored pod with a status computed for now (Pending, then Running)."""
        out = copy.deepcopy(pod)
        created = out["metadata"].pop("_createdAt")
        running = self._is_running(pod)
        container = out["spec"]["containers"][0]
        out["status"] = {
            "phase": "Running" if running else "Pending",
            "conditions": [{"type": "Ready", "status": "True" if running else "False"}],
            "hostIP": "10.0.1.1" if running else None,
            "podIP": f"10.244.{len(out['metadata']['name']) % 8}.{int(created) % 250 + 2}",
            "startTime": now_iso(created),
            "containerStatuses": [
                {
                    "name": container["name"],
                    "image": container["image"],
                    "imageID": f"{container['image']}@sha256:{'0' * 64}",
                    "ready": running,
                    "restartCount": 0,
                    "started": running,
                    "state": (
                        {"running": {"startedAt": now_iso(created + START_SECONDS)}}
                        if running
                        else {"waiting": {"reason": "ContainerCreating"}}
                    ),
                }
            ],
        }
        if not running:
            out["status"].pop("hostIP")
        return out

    def _render(self, group: str, plural: str, obj: Obj) -> Obj:
        if (group, plural) == ("", "pods"):
            return self._render_pod(obj)
        if group == "apps":
            self._update_owner_status(obj)
        return copy.deepcopy(obj)

    # ---- read API
    def get(self, group: str, plural: str, namespace: str, name: str) -> Obj:
        with self._lock:
            r = resource(group, plural)
            if group == "metrics.k8s.io":
                items = self._metrics(plural, namespace)
                for item in items:
                    if item["metadata"]["name"] == name:
                        return item
                raise ApiError(
                    404, f'{r.plural}.metrics.k8s.io "{name}" not found', kind=r.plural, name=name
                )
            self._check_namespace(namespace, r)
            obj = self._objects.get((group, plural, namespace if r.namespaced else "", name))
            if obj is None:
                group_suffix = f".{group}" if group else ""
                raise ApiError(
                    404, f'{plural}{group_suffix} "{name}" not found', kind=plural, name=name
                )
            return self._render(group, plural, obj)

    def list_objects(
        self,
        group: str,
        plural: str,
        namespace: str | None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> Obj:
        with self._lock:
            r = resource(group, plural)
            if group == "metrics.k8s.io":
                items = self._metrics(plural, namespace)
            else:
                if namespace:
                    self._check_namespace(namespace, r)
                items = [
                    self._render(g, p, o)
                    for (g, p, ns, _), o in sorted(self._objects.items())
                    if g == group
                    and p == plural
                    and (namespace is None or ns == namespace or not r.namespaced)
                ]
            matcher = parse_label_selector(label_selector)
            fields = parse_field_selector(field_selector)
            items = [
                o
                for o in items
                if matcher(o["metadata"].get("labels", {}))
                and all(field_value(o, k) == v for k, v in fields.items())
            ]
            return {
                "apiVersion": r.group_version,
                "kind": f"{r.kind}List",
                "metadata": {"resourceVersion": str(self._version)},
                "items": items,
            }

    def _check_namespace(self, namespace: str, r: Resource) -> None:
        if r.namespaced and ("", "namespaces", "", namespace) not in self._objects:
            raise ApiError(
                404, f'namespaces "{namespace}" not found', kind="namespaces", name=namespace
            )

    # ---- write API
    def patch(
        self,
        group: str,
        plural: str,
        namespace: str,
        name: str,
        body: Any,
        content_type: str,
        *,
        dry_run: bool = False,
        subresource: str = "",
    ) -> Obj:
        with self._lock:
            current = self.get(group, plural, namespace, name)
            target = self._scale_of(current) if subresource == "scale" else current
            patched = apply_patch(target, body, content_type)
            if subresource == "scale":
                return self._set_replicas(plural, namespace, name, patched, dry_run=dry_run)
            return self._replace(group, plural, namespace, name, current, patched, dry_run=dry_run)

    def update(
        self,
        group: str,
        plural: str,
        namespace: str,
        name: str,
        body: Any,
        *,
        dry_run: bool = False,
        subresource: str = "",
    ) -> Obj:
        with self._lock:
            current = self.get(group, plural, namespace, name)
            if not isinstance(body, dict):
                raise ApiError(400, "the body of the request was not a JSON object")
            wanted_version = body.get("metadata", {}).get("resourceVersion")
            if wanted_version and wanted_version != current["metadata"]["resourceVersion"]:
                raise ApiError(
                    409,
                    f'Operation cannot be fulfilled on {plural} "{name}": the '
                    "object has been modified; please apply your changes to the "
                    "latest version and try again",
                    kind=plural,
                    name=name,
                )
            if subresource == "scale":
                return self._set_replicas(plural, namespace, name, body, dry_run=dry_run)
            return self._replace(group, plural, namespace, name, current, body, dry_run=dry_run)

    def delete(
        self, group: str, plural: str, namespace: str, name: str, *, dry_run: bool = False
    ) -> Obj:
        with self._lock:
            if (group, plural) != ("", "pods"):
                raise ApiError(405, f"the demo cluster does not delete {plural}")
            pod = self.get(group, plural, namespace, name)
            pod["metadata"]["deletionTimestamp"] = now_iso()
            pod["metadata"]["deletionGracePeriodSeconds"] = 0
            if dry_run:
                return pod
            stored = self._objects[("", "pods", namespace, name)]
            self._delete_pod_object(stored)
            owner_uid = stored["metadata"]["ownerReferences"][0]["uid"]
            for (g, p, _ns, owner_name), obj in list(self._objects.items()):
                if g == "apps" and obj["metadata"]["uid"] == owner_uid:
                    self._reconcile(p, owner_name)  # the replacement, with a new name
            return pod

    def _scale_of(self, obj: Obj) -> Obj:
        selector = ",".join(f"{k}={v}" for k, v in obj["spec"]["selector"]["matchLabels"].items())
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": obj["metadata"]["name"],
                "namespace": obj["metadata"]["namespace"],
                "uid": obj["metadata"]["uid"],
                "resourceVersion": obj["metadata"]["resourceVersion"],
                "creationTimestamp": obj["metadata"]["creationTimestamp"],
            },
            "spec": {"replicas": obj["spec"]["replicas"]},
            "status": {"replicas": obj["status"].get("replicas", 0), "selector": selector},
        }

    def scale(self, group: str, plural: str, namespace: str, name: str) -> Obj:
        with self._lock:
            if group != "apps":
                raise ApiError(404, "the server could not find the requested resource")
            return self._scale_of(self.get(group, plural, namespace, name))

    def _set_replicas(
        self, plural: str, namespace: str, name: str, scale: Any, *, dry_run: bool
    ) -> Obj:
        replicas = (scale.get("spec") or {}).get("replicas") if isinstance(scale, dict) else None
        if isinstance(replicas, bool) or not isinstance(replicas, int):
            raise ApiError(
                422,
                f'Scale.autoscaling "{name}" is invalid: spec.replicas: '
                "Invalid value: must be an integer",
                kind="Scale",
                name=name,
            )
        if not 0 <= replicas <= MAX_REPLICAS:
            raise ApiError(
                422,
                f'Scale.autoscaling "{name}" is invalid: spec.replicas: '
                f"Invalid value: {replicas}: must be between 0 and {MAX_REPLICAS} "
                "in the demo cluster",
                kind="Scale",
                name=name,
            )
        stored = self._objects[("apps", plural, namespace, name)]
        if not dry_run and replicas != stored["spec"]["replicas"]:
            stored["spec"]["replicas"] = replicas
            stored["metadata"]["resourceVersion"] = self._next_version()
            self._reconcile(plural, name)
        result = self._scale_of(self._render("apps", plural, stored))
        result["spec"]["replicas"] = replicas
        return result

    def _replace(
        self,
        group: str,
        plural: str,
        namespace: str,
        name: str,
        current: Obj,
        new: Any,
        *,
        dry_run: bool,
    ) -> Obj:
        if not isinstance(new, dict):
            raise ApiError(400, "the body of the request was not a JSON object")
        meta = new.get("metadata") or {}
        if meta.get("name", name) != name:
            raise ApiError(
                422,
                f'{current["kind"]} "{name}" is invalid: metadata.name: '
                "Invalid value: the name of the object cannot change",
                kind=current["kind"],
                name=name,
            )
        self._validate(current["kind"], name, new)
        merged = copy.deepcopy(new)
        merged["metadata"] = {
            **current["metadata"],
            **{k: v for k, v in meta.items() if k in ("labels", "annotations")},
        }
        merged["apiVersion"], merged["kind"] = current["apiVersion"], current["kind"]
        if group == "apps":
            merged["status"] = current.get("status", {})
        if dry_run:
            return merged
        stored = self._objects[(group, plural, namespace, name)]
        if (group, plural) == ("", "pods"):
            stored["metadata"]["labels"] = merged["metadata"].get("labels", {})
            stored["metadata"]["annotations"] = merged["metadata"].get("annotations", {})
            stored["metadata"]["resourceVersion"] = self._next_version()
            return self._render_pod(stored)
        if merged == current:
            return self._render(group, plural, stored)
        merged["metadata"]["resourceVersion"] = self._next_version()
        if group == "apps" and merged["spec"] != current["spec"]:
            merged["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
        self._objects[(group, plural, namespace, name)] = merged
        if group == "apps":
            self._reconcile(plural, name)
        return self._render(group, plural, merged)

    @staticmethod
    def _validate(kind: str, name: str, obj: Obj) -> None:
        def invalid(field: str, why: str) -> ApiError:
            return ApiError(
                422, f'{kind} "{name}" is invalid: {field}: {why}', kind=kind, name=name
            )

        if kind == "ConfigMap":
            data = obj.get("data", {})
            if data is None:
                return
            if not isinstance(data, dict):
                raise invalid("data", "Invalid value: must be an object")
            for key, value in data.items():
                if not isinstance(value, str):
                    raise invalid(f"data[{key}]", "Invalid value: must be a string")
                if not re.fullmatch(r"[-._a-zA-Z0-9]+", key):
                    raise invalid(
                        f"data[{key}]",
                        "Invalid value: a valid config key must "
                        "consist of alphanumeric characters, '-', '_' or '.'",
                    )
        elif kind in ("Deployment", "StatefulSet"):
            replicas = obj.get("spec", {}).get("replicas")
            if (
                isinstance(replicas, bool)
                or not isinstance(replicas, int)
                or not (0 <= replicas <= MAX_REPLICAS)
            ):
                raise invalid(
                    "spec.replicas",
                    f"Invalid value: {replicas!r}: must be an integer between 0 and {MAX_REPLICAS}",
                )
            containers = obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers")
            if not containers:
                raise invalid("spec.template.spec.containers", "Required value")
            if not isinstance(containers, list) or not all(
                isinstance(c, dict) and isinstance(c.get("name"), str) and c.get("image")
                for c in containers
            ):
                raise invalid(
                    "spec.template.spec.containers",
                    "Invalid value: a list of containers, each with a name and image",
                )

    # ---- metrics.k8s.io
    def _metrics(self, plural: str, namespace: str | None) -> list[Obj]:
        usage = self.usage
        stamp = now_iso()
        if plural == "nodes":
            return [
                {
                    "kind": "NodeMetrics",
                    "apiVersion": "metrics.k8s.io/v1beta1",
                    "metadata": {"name": node, "creationTimestamp": stamp},
                    "timestamp": stamp,
                    "window": "30s",
                    "usage": {"cpu": "1800m", "memory": "8Gi"},
                }
                for node in ("leanvibe-node-1", "leanvibe-node-2", "leanvibe-node-3")
            ]
        items = []
        for (g, p, ns, name), pod in sorted(self._objects.items()):
            if (g, p) != ("", "pods") or (namespace and ns != namespace):
                continue
            if not self._is_running(pod):
                continue
            container = pod["spec"]["containers"][0]["name"]
            cpu, memory = usage(name) if usage else (0.1, 2**28)
            items.append(
                {
                    "kind": "PodMetrics",
                    "apiVersion": "metrics.k8s.io/v1beta1",
                    "metadata": {
                        "name": name,
                        "namespace": ns,
                        "creationTimestamp": stamp,
                        "labels": pod["metadata"].get("labels", {}),
                    },
                    "timestamp": stamp,
                    "window": "15s",
                    "containers": [
                        {
                            "name": container,
                            "usage": {
                                "cpu": f"{round(cpu * 1000)}m",
                                "memory": f"{round(memory / 1024)}Ki",
                            },
                        }
                    ],
                }
            )
        return items

    # ---- for the workload
    def view(self) -> ClusterView:
        with self._lock:

            def pods(prefix: str) -> tuple[str, ...]:
                return tuple(
                    sorted(
                        o["metadata"]["name"]
                        for (g, p, ns, _), o in self._objects.items()
                        if (g, p, ns) == ("", "pods", NAMESPACE)
                        and o["metadata"]["labels"].get("app.kubernetes.io/name") == prefix
                        and self._is_running(o)
                    )
                )

            data = self._objects[("", "configmaps", NAMESPACE, "leanvibe-config")]["data"]
            try:
                pool = max(int(data.get("CONNECTION_POOL_SIZE", "20")), 1)
            except ValueError:
                pool = 20  # an unparsable value: the backend would fall back to its default
            return ClusterView(pods("leanvibe"), pods("redis"), pods("neo4j"), pool)

    def pod_logs(
        self, namespace: str, name: str, container: str | None, tail_lines: int | None
    ) -> str:
        with self._lock:
            pod = self.get("", "pods", namespace, name)
            names = [c["name"] for c in pod["spec"]["containers"]]
            if container and container not in names:
                raise ApiError(400, f"container {container} is not valid for pod {name}")
            if pod["status"]["phase"] != "Running":
                raise ApiError(
                    400,
                    f'container "{names[0]}" in pod "{name}" is waiting to '
                    "start: ContainerCreating",
                )
            created = pod["metadata"]["creationTimestamp"]
        return logs.render(
            name, container or names[0], created, self.scenarios, self.clock(), tail_lines
        )
