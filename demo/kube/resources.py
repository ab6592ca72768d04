"""The API resources the demo cluster serves, its errors, and small helpers."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]
START_SECONDS = 4  # a new pod is Pending this long, then Running
# As many as DEMO_PODS may seed (a scale beyond is refused like the real API's quota would).
MAX_REPLICAS = 5000


class ApiError(Exception):
    """Becomes a ``Status`` object with the HTTP code of the real API server."""

    REASONS = {
        400: "BadRequest",
        404: "NotFound",
        405: "MethodNotAllowed",
        409: "Conflict",
        413: "RequestEntityTooLarge",
        415: "UnsupportedMediaType",
        422: "Invalid",
    }

    def __init__(
        self, code: int, message: str, *, kind: str = "", name: str = "", reason: str = ""
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.kind, self.name = code, message, kind, name
        self.reason = reason or self.REASONS.get(code, "InternalError")

    def status(self) -> Obj:
        details: Obj = {}
        if self.name:
            details["name"] = self.name
        if self.kind:
            details["kind"] = self.kind
        _, sep, rest = self.message.partition(" is invalid: ")
        if self.code == 422 and sep:
            # kubectl builds its one-line message from the causes, as for the real server.
            field, _, why = rest.partition(": ")
            details["causes"] = [{"reason": "FieldValueInvalid", "message": why, "field": field}]
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": details,
            "code": self.code,
        }


def now_iso(t: float | None = None) -> str:
    return datetime.fromtimestamp(t if t is not None else time.time(), UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def random_suffix(n: int = 5) -> str:
    return "".join(random.choices("bcdfghjklmnpqrstvwxz2456789", k=n))  # noqa: S311


# --- resources ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ("get", "list", "patch", "update")

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


RESOURCES = (
    Resource(
        "",
        "v1",
        "namespaces",
        "Namespace",
        namespaced=False,
        short_names=("ns",),
        verbs=("get", "list"),
    ),
    Resource(
        "",
        "v1",
        "nodes",
        "Node",
        namespaced=False,
        short_names=("no",),
        verbs=("get", "list"),
    ),
    Resource(
        "", "v1", "pods", "Pod", short_names=("po",), verbs=("get", "list", "delete", "patch")
    ),
    Resource("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    Resource("apps", "v1", "deployments", "Deployment", short_names=("deploy",)),
    Resource("apps", "v1", "statefulsets", "StatefulSet", short_names=("sts",)),
    Resource("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", verbs=("get", "list")),
    Resource(
        "metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", namespaced=False, verbs=("get", "list")
    ),
)


def resource(group: str, plural: str) -> Resource:
    for r in RESOURCES:
        if r.group == group and r.plural == plural:
            return r
    raise ApiError(404, f"the server could not find the requested resource ({plural})")
