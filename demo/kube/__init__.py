"""A small Kubernetes-API-compatible server: the demo cluster the runbook actions act on.

It speaks the real API paths and object shapes, plain HTTP like ``kubectl proxy``, for what the
playbook's procedures use: get and list deployments, statefulsets, pods and configmaps (label and
field selectors, Table output for kubectl), the scale subresource, merge / strategic-merge / JSON
patches (rollout restart, configmap edits), DELETE pod (a replacement with a new name appears),
pod logs (``tailLines``, ``container``), metrics.k8s.io PodMetrics for "top", ``dryRun=All`` and
errors as ``Status`` objects with the real codes (404, 409, 422, 415, 405).

The state lives in memory and is shared with the simulated workload: more backend replicas lower
latency, a rollout restart replaces the pods (and so ends a memory leak), a larger
``CONNECTION_POOL_SIZE`` relieves a Neo4j connection surge.
"""

from __future__ import annotations

from demo.kube.api import kubeconfig, serve
from demo.kube.cluster import Cluster
from demo.kube.resources import ApiError

__all__ = ["ApiError", "Cluster", "kubeconfig", "serve"]
