"""The demo cluster's API verbs: get, list, patch, update, delete and scale over its objects,
checked like the real API server's writes, and the view the simulated workload reads."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import Any

from demo import logs
from demo.kube import validation
from demo.kube.controller import Controller
from demo.kube.metrics_api import Usage, metrics
from demo.kube.patches import (
    apply_patch,
    field_value,
    parse_field_selector,
    parse_label_selector,
)
from demo.kube.resources import ApiError, Obj, Resource, now_iso, resource
from demo.kube.seed import seed
from demo.kube.store import Store
from demo.model import NAMESPACE, ClusterSize, ClusterView, cluster_size
from demo.scenarios import ScenarioBook


class Cluster:
    """Objects by (group, plural, namespace, name), with resourceVersions and owners."""

    def __init__(
        self,
        scenarios: ScenarioBook | None = None,
        clock: Callable[[], float] = time.time,
        size: ClusterSize | None = None,
    ) -> None:
        self.scenarios = scenarios or ScenarioBook()
        self.clock = clock
        # DEMO_PODS and DEMO_NODES unless given; the workload's metrics use the same size.
        self.size = size or cluster_size()
        # Set by the workload: (cpu cores, memory bytes) a pod uses now, for metrics.k8s.io.
        self.usage: Usage | None = None
        self._lock = threading.RLock()
        self._store = Store(created=self.clock() - 12 * 86400)
        self._controller = Controller(self._store, clock, self.size.node_names)
        seed(self._store, self._controller, self.size)

    # ---- read API
    def get(self, group: str, plural: str, namespace: str, name: str) -> Obj:
        with self._lock:
            r = resource(group, plural)
            if group == "metrics.k8s.io":
                items = metrics(
                    self._store, self._controller, plural, namespace, self.usage, name=name
                )
                for item in items:
                    if item["metadata"]["name"] == name:
                        return item
                raise ApiError(
                    404, f'{r.plural}.metrics.k8s.io "{name}" not found', kind=r.plural, name=name
                )
            self._check_namespace(namespace, r)
            obj = self._store.get((group, plural, namespace if r.namespaced else "", name))
            if obj is None:
                group_suffix = f".{group}" if group else ""
                raise ApiError(
                    404, f'{plural}{group_suffix} "{name}" not found', kind=plural, name=name
                )
            return self._controller.render(group, plural, obj)

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
                items = metrics(self._store, self._controller, plural, namespace, self.usage)
            else:
                if namespace:
                    self._check_namespace(namespace, r)
                items = [
                    self._controller.render(g, p, o)
                    for (g, p, ns, _), o in sorted(self._store.items())
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
                "metadata": {"resourceVersion": self._store.latest_version},
                "items": items,
            }

    def _check_namespace(self, namespace: str, r: Resource) -> None:
        if r.namespaced and ("", "namespaces", "", namespace) not in self._store:
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
            body = validation.require_object(body)
            validation.check_resource_version(plural, name, current, body)
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
            stored = self._store[("", "pods", namespace, name)]
            self._controller.delete_pod(stored)
            owner_uid = stored["metadata"]["ownerReferences"][0]["uid"]
            for (g, p, _ns, owner_name), obj in self._store.items():
                if g == "apps" and obj["metadata"]["uid"] == owner_uid:
                    self._controller.reconcile(p, owner_name)  # the replacement, with a new name
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
        replicas = validation.scale_replicas(name, scale)
        stored = self._store[("apps", plural, namespace, name)]
        if not dry_run and replicas != stored["spec"]["replicas"]:
            stored["spec"]["replicas"] = replicas
            stored["metadata"]["resourceVersion"] = self._store.next_version()
            self._controller.reconcile(plural, name)
        result = self._scale_of(self._controller.render("apps", plural, stored))
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
        new = validation.require_object(new)
        meta = new.get("metadata") or {}
        validation.check_name_unchanged(current["kind"], name, meta)
        validation.validate(current["kind"], name, new)
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
        key = (group, plural, namespace, name)
        stored = self._store[key]
        if (group, plural) == ("", "pods"):
            stored["metadata"]["labels"] = merged["metadata"].get("labels", {})
            stored["metadata"]["annotations"] = merged["metadata"].get("annotations", {})
            stored["metadata"]["resourceVersion"] = self._store.next_version()
            return self._controller.render_pod(stored)
        if merged == current:
            return self._controller.render(group, plural, stored)
        merged["metadata"]["resourceVersion"] = self._store.next_version()
        if group == "apps" and merged["spec"] != current["spec"]:
            merged["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
        self._store[key] = merged
        if group == "apps":
            self._controller.reconcile(plural, name)
        return self._controller.render(group, plural, merged)

    # ---- for the workload
    def view(self) -> ClusterView:
        with self._lock:

            def pods(prefix: str) -> tuple[str, ...]:
                return tuple(
                    sorted(
                        o["metadata"]["name"]
                        for (g, p, ns, _), o in self._store.items()
                        if (g, p, ns) == ("", "pods", NAMESPACE)
                        and o["metadata"]["labels"].get("app.kubernetes.io/name") == prefix
                        and self._controller.is_running(o)
                    )
                )

            data = self._store[("", "configmaps", NAMESPACE, "leanvibe-config")]["data"]
            try:
                pool = max(int(data.get("CONNECTION_POOL_SIZE", "20")), 1)
            except ValueError:
                pool = 20  # an unparsable value: the backend would fall back to its default
            return ClusterView(
                pods("leanvibe"),
                pods("redis"),
                pods("neo4j"),
                pool,
                nodes=self.size.node_names,
                seeded_replicas=self.size.pods,
            )

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
