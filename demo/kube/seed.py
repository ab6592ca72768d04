"""The demo cluster as it stands when the demo starts: its nodes, the ``leanvibe`` namespace,
the backend's ConfigMap, and the backend, Redis and Neo4j workloads with their pods, sized by
``DEMO_PODS`` and ``DEMO_NODES`` (``demo.model.ClusterSize``)."""

from __future__ import annotations

import uuid

from demo.kube.controller import Controller
from demo.kube.resources import Obj
from demo.kube.store import Store
from demo.model import (
    BACKEND_MEMORY_LIMIT,
    NAMESPACE,
    NODE_CPUS,
    NODE_MEMORY,
    POD_TEMPLATE_HASH,
    ClusterSize,
)


def seed(store: Store, controller: Controller, size: ClusterSize) -> None:
    for node in size.node_names:
        store.add("", "nodes", "", _node(node))
    store.add(
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
    store.add(
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
    _add_workload(
        store,
        controller,
        "deployments",
        "Deployment",
        "leanvibe-backend",
        size.pods,
        {"app.kubernetes.io/name": "leanvibe", "app.kubernetes.io/component": "backend"},
        "backend",
        "ghcr.io/leanvibe/backend:2.0.4",
        BACKEND_MEMORY_LIMIT,
        size.pod_suffixes,
        POD_TEMPLATE_HASH,
    )
    _add_workload(
        store,
        controller,
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
    _add_workload(
        store,
        controller,
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


def _add_workload(
    store: Store,
    controller: Controller,
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
    store.add("apps", plural, NAMESPACE, obj)
    controller.reconcile(
        plural, name, suffixes=pod_suffixes, template_hash=template_hash, started=store.created
    )


def _node(name: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "node.kubernetes.io/instance-type": "m6i.large",
            },
        },
        "spec": {},
        "status": {
            "capacity": {
                "cpu": str(NODE_CPUS),
                "memory": f"{NODE_MEMORY // 1024}Ki",
                "pods": "110",
            },
            "allocatable": {
                "cpu": str(NODE_CPUS),
                "memory": f"{NODE_MEMORY // 1024}Ki",
                "pods": "110",
            },
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
            # Every field the official client requires of a NodeSystemInfo.
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"boot.{name}")),
                "containerRuntimeVersion": "containerd://1.7.11",
                "kernelVersion": "6.1.0-17-cloud-amd64",
                "kubeProxyVersion": "v1.29.0",
                "kubeletVersion": "v1.29.0",
                "machineID": uuid.uuid5(uuid.NAMESPACE_DNS, f"machine.{name}").hex,
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"system.{name}")),
            },
        },
    }
