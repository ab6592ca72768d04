"""Label and field selectors, and the three patch formats of the Kubernetes API."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from demo.kube.resources import ApiError, Obj

# --- selectors and patches -------------------------------------------------------------------


def parse_label_selector(text: str) -> Callable[[dict[str, str]], bool]:
    """Equality (=, ==, !=), set (in, notin) and existence (key, !key) requirements."""
    if not text:
        return lambda _labels: True
    requirements = []
    for part in re.split(r",(?![^()]*\))", text):
        part = part.strip()
        m = re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)", part)
        if m:
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            requirements.append((key, op, values))
            continue
        m = re.fullmatch(r"([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)", part)
        if m:
            op = "!=" if m.group(2) == "!=" else "="
            requirements.append((m.group(1), op, {m.group(3)}))
            continue
        m = re.fullmatch(r"(!?)([\w./-]+)", part)
        if m:
            requirements.append((m.group(2), "!" if m.group(1) else "exists", set()))
            continue
        raise ApiError(400, f"unable to parse requirement: {part!r}")

    def matches(labels: dict[str, str]) -> bool:
        for key, op, values in requirements:
            value = labels.get(key)
            if (op == "=" and value not in values) or (op == "!=" and value in values):
                return False
            if (op == "in" and value not in values) or (op == "notin" and value in values):
                return False
            if (op == "exists" and key not in labels) or (op == "!" and key in labels):
                return False
        return True

    return matches


def parse_field_selector(text: str) -> dict[str, str]:
    fields = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.replace("==", "=").partition("=")
        if not sep or key not in (
            "metadata.name",
            "metadata.namespace",
            "status.phase",
            "spec.nodeName",
        ):
            raise ApiError(400, f'field label not supported: "{key}"')
        fields[key] = value
    return fields


def field_value(obj: Obj, path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Enough of Kubernetes' strategic merge: lists of named objects (containers, env) merge
    by ``name``, ``$patch: delete`` removes; everything else as a merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key == "$retainKeys":
            continue
        if value is None:
            result.pop(key, None)
        elif (
            isinstance(value, list)
            and all(isinstance(v, dict) and "name" in v for v in value)
            and isinstance(result.get(key), list)
        ):
            merged = {item.get("name"): item for item in result[key]}
            for item in value:
                if item.get("$patch") == "delete":
                    merged.pop(item["name"], None)
                else:
                    merged[item["name"]] = strategic_merge_patch(merged.get(item["name"]), item)
            result[key] = list(merged.values())
        else:
            result[key] = strategic_merge_patch(result.get(key), value)
    return result


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902: add, remove, replace, test."""
    if not isinstance(operations, list):
        raise ApiError(400, "a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or not isinstance(op.get("path"), str):
            raise ApiError(400, f"invalid JSON patch operation: {op!r}")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
        last = parts[-1] if parts else ""
        kind = op["op"]
        if kind in ("add", "replace"):
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if kind == "add":
                    parent.insert(index, op.get("value"))
                else:
                    parent[index] = op.get("value")
            else:
                parent[last] = op.get("value")
        elif kind == "remove":
            if isinstance(parent, list):
                parent.pop(int(last))
            elif last in parent:
                del parent[last]
            else:
                raise ApiError(422, f"remove: path {op['path']} does not exist")
        elif kind == "test":
            current = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if current != op.get("value"):
                raise ApiError(422, f"test failed at {op['path']}")
        else:
            raise ApiError(400, f"unsupported JSON patch operation {kind!r}")
    return doc


PATCH_TYPES = {
    "application/merge-patch+json": merge_patch,
    "application/strategic-merge-patch+json": strategic_merge_patch,
    "application/json-patch+json": json_patch,
}


def apply_patch(target: Obj, body: Any, content_type: str) -> Obj:
    kind = content_type.split(";")[0].strip()
    if kind == "application/apply-patch+yaml":
        raise ApiError(415, "server-side apply is not supported by the demo cluster")
    patcher = PATCH_TYPES.get(kind)
    if patcher is None:
        raise ApiError(
            415,
            f"the body of the request was in an unknown format - accepted "
            f"media types include: {', '.join(PATCH_TYPES)}",
        )
    result = patcher(target, body)
    if not isinstance(result, dict):
        raise ApiError(400, "the patch did not produce an object")
    return result
