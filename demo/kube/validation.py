"""The checks the demo API server makes before it stores a write, with the real server's codes
and messages: a body must be an object, a name never changes, a write based on an old
resourceVersion conflicts, replicas are integers within bounds, containers have a name and an
image, and ConfigMap data maps valid keys to strings."""

from __future__ import annotations

import re
from typing import Any

from demo.kube.resources import MAX_REPLICAS, ApiError, Obj


def require_object(body: Any) -> Obj:
    if not isinstance(body, dict):
        raise ApiError(400, "the body of the request was not a JSON object")
    return body


def check_resource_version(plural: str, name: str, current: Obj, body: Obj) -> None:
    """An update that names a resourceVersion must name the current one (optimistic locking)."""
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


def check_name_unchanged(kind: str, name: str, meta: Obj) -> None:
    if meta.get("name", name) != name:
        raise ApiError(
            422,
            f'{kind} "{name}" is invalid: metadata.name: '
            "Invalid value: the name of the object cannot change",
            kind=kind,
            name=name,
        )


def scale_replicas(name: str, scale: Any) -> int:
    """The replicas a Scale body asks for, within what the demo cluster runs."""
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
    return replicas


def validate(kind: str, name: str, obj: Obj) -> None:
    """The fields of a new ConfigMap, Deployment or StatefulSet that the demo relies on."""

    def invalid(field: str, why: str) -> ApiError:
        return ApiError(422, f'{kind} "{name}" is invalid: {field}: {why}', kind=kind, name=name)

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
