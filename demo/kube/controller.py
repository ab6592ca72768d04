"""What the demo cluster's controllers and kubelet do: a workload's pods follow its replicas
and pod template, a new pod is Pending for a few seconds and then Running, and a workload's
status counts its ready pods."""

from __future__ import annotations

import copy
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence

from demo.kube.resources import START_SECONDS, Obj, now_iso, random_suffix
from demo.kube.store import Store
from demo.model import NAMESPACE


class Controller:
    """Reconciles the pods of Deployments and StatefulSets and renders status for now."""

    def __init__(
        self, store: Store, clock: Callable[[], float], nodes: Sequence[str] = ("node-1",)
    ) -> None:
        self.store = store
        self.clock = clock
        self.nodes = tuple(nodes)
        # Pods per node, counted once and then kept as pods come and go.
        self._node_load: Counter[str | None] | None = None
        # Per workload: the digest of its pod template and the pod-template-hash it maps to.
        self._template_hashes: dict[tuple[str, str], tuple[str, str]] = {}

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

    def pods_of(self, owner: Obj) -> list[Obj]:
        uid = owner["metadata"]["uid"]
        return [
            o
            for (g, p, ns, _), o in self.store.items()
            if g == ""
            and p == "pods"
            and ns == owner["metadata"]["namespace"]
            and any(ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences", []))
        ]

    def reconcile(
        self,
        plural: str,
        name: str,
        *,
        suffixes: list[str] | None = None,
        template_hash: str | None = None,
        started: float | None = None,
    ) -> None:
        owner = self.store[("apps", plural, NAMESPACE, name)]
        wanted = int(owner["spec"]["replicas"])
        current_hash = self._template_hash(plural, owner, template_hash)
        pods = self.pods_of(owner)
        stale = [
            p for p in pods if p["metadata"]["labels"].get("pod-template-hash") != current_hash
        ]
        for pod in stale:  # a new template replaces every pod (restart, image change)
            self.delete_pod(pod)
        pods = [p for p in pods if p not in stale]
        if owner["kind"] == "StatefulSet":
            names = [f"{name}-{i}" for i in range(wanted)]
            existing = {p["metadata"]["name"] for p in pods}
            for pod in pods:
                if pod["metadata"]["name"] not in names:
                    self.delete_pod(pod)
            for pod_name in names:
                if pod_name not in existing:
                    self._new_pod(owner, pod_name, current_hash, started)
        else:
            pods.sort(key=lambda p: p["metadata"]["creationTimestamp"])
            for pod in pods[wanted:]:
                self.delete_pod(pod)
            taken = {p["metadata"]["name"] for p in pods}
            for i in range(max(wanted - len(pods), 0)):
                suffix = suffixes[i] if suffixes and i < len(suffixes) else random_suffix()
                # 27**5 suffixes: among 5,000 pods a repeat is likely (the birthday bound),
                # and two pods must never share a name.
                while f"{name}-{current_hash}-{suffix}" in taken:
                    suffix = random_suffix()
                taken.add(f"{name}-{current_hash}-{suffix}")
                self._new_pod(owner, f"{name}-{current_hash}-{suffix}", current_hash, started)
        self.update_owner_status(owner)

    def _least_loaded_node(self) -> str:
        """The scheduler's spread: the node running the fewest pods (the first on a tie)."""
        if self._node_load is None:
            self._node_load = Counter(
                o["spec"].get("nodeName")
                for (g, p, _, _), o in self.store.items()
                if (g, p) == ("", "pods")
            )
        load = self._node_load
        node = min(self.nodes, key=lambda n: load[n])
        load[node] += 1
        return node

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
                "nodeName": self._least_loaded_node(),
                "restartPolicy": "Always",
            },
            "status": {},
        }
        pod["metadata"]["_createdAt"] = created
        self.store.add("", "pods", NAMESPACE, pod)

    def delete_pod(self, pod: Obj) -> None:
        if self._node_load is not None:
            self._node_load[pod["spec"].get("nodeName")] -= 1
        self.store.remove(("", "pods", pod["metadata"]["namespace"], pod["metadata"]["name"]))

    def update_owner_status(self, owner: Obj) -> None:
        pods = self.pods_of(owner)
        ready = sum(1 for p in pods if self.is_running(p))
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

    # ---- status as of now
    def is_running(self, pod: Obj) -> bool:
        return self.clock() - pod["metadata"]["_createdAt"] >= START_SECONDS

    def render_pod(self, pod: Obj) -> Obj:
        """The stored pod with a status computed for now (Pending, then Running)."""
        out = copy.deepcopy(pod)
        created = out["metadata"].pop("_createdAt")
        running = self.is_running(pod)
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

    def render(self, group: str, plural: str, obj: Obj) -> Obj:
        """What a read returns: a copy of the stored object with its status as of now."""
        if (group, plural) == ("", "pods"):
            return self.render_pod(obj)
        if group == "apps":
            self.update_owner_status(obj)
        return copy.deepcopy(obj)
