"""metrics.k8s.io, what ``kubectl top`` reads: NodeMetrics for the cluster's nodes and
PodMetrics for every running pod, with the usage the simulated workload reports."""

from __future__ import annotations

from collections.abc import Callable

from demo.kube.controller import Controller
from demo.kube.resources import Obj, now_iso
from demo.kube.store import Store

# A pod's name -> the (cpu cores, memory bytes) it uses now.
Usage = Callable[[str], tuple[float, float]]


def metrics(
    store: Store,
    controller: Controller,
    plural: str,
    namespace: str | None,
    usage: Usage | None,
    *,
    name: str | None = None,
) -> list[Obj]:
    """The NodeMetrics (``plural`` "nodes") or PodMetrics items (only ``name``'s, when
    given); a pod that is not running yet has none, as under the real metrics-server."""
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
            for node in controller.nodes
            if name is None or node == name
        ]
    items = []
    for (g, p, ns, pod_name), pod in sorted(store.items()):
        if (g, p) != ("", "pods") or (namespace and ns != namespace):
            continue
        if name is not None and pod_name != name:
            continue
        if not controller.is_running(pod):
            continue
        container = pod["spec"]["containers"][0]["name"]
        cpu, memory = usage(pod_name) if usage else (0.1, 2**28)
        items.append(
            {
                "kind": "PodMetrics",
                "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": {
                    "name": pod_name,
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
