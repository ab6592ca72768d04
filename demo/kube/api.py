"""The HTTP face of the demo cluster: discovery, the resource paths, Table output for kubectl,
errors as ``Status`` objects, and a kubeconfig pointing at it."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from demo.kube.cluster import Cluster
from demo.kube.resources import RESOURCES, ApiError, Obj, resource
from demo.model import NAMESPACE
from demo.web import BodyError, QuietJsonHandler, read_body

log = logging.getLogger(__name__)

# --- HTTP ------------------------------------------------------------------------------------

PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[\w.]+)/(?P<version>v\w+))"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[a-z]+)(?:/(?P<name>[^/]+))?"
    r"(?:/(?P<sub>scale|log|status))?/?$"
)


def discovery(path: str) -> Obj | None:
    if path == "/version":
        return {
            "major": "1",
            "minor": "29",
            "gitVersion": "v1.29.0-leanvibe-demo",
            "gitCommit": "demo",
            "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "go1.21",
            "compiler": "gc",
            "platform": "linux/amd64",
        }
    if path == "/api":
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}
            ],
        }
    if path == "/apis":
        groups = []
        for group in ("apps", "metrics.k8s.io"):
            version = next(r.version for r in RESOURCES if r.group == group)
            gv = {"groupVersion": f"{group}/{version}", "version": version}
            groups.append({"name": group, "versions": [gv], "preferredVersion": gv})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    m = re.fullmatch(r"/api/v1|/apis/([\w.]+)/(v\w+)", path)
    if not m:
        return None
    group, version = (m.group(1) or ""), (m.group(2) or "v1")
    resources = []
    for r in RESOURCES:
        if r.group != group or r.version != version:
            continue
        resources.append(
            {
                "name": r.plural,
                "singularName": r.kind.lower(),
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": list(r.verbs),
                "shortNames": list(r.short_names),
            }
        )
        if r.group == "apps":
            resources.append(
                {
                    "name": f"{r.plural}/scale",
                    "singularName": "",
                    "namespaced": True,
                    "group": "autoscaling",
                    "version": "v1",
                    "kind": "Scale",
                    "verbs": ["get", "patch", "update"],
                }
            )
        if r.plural == "pods" and not r.group:
            resources.append(
                {
                    "name": "pods/log",
                    "singularName": "",
                    "namespaced": True,
                    "kind": "Pod",
                    "verbs": ["get"],
                }
            )
    if not resources:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


TABLE_COLUMNS: dict[str, list[tuple[str, str, Callable[[Obj], Any]]]] = {
    "pods": [
        ("Ready", "string", lambda o: f"{int(o['status']['phase'] == 'Running')}/1"),
        ("Status", "string", lambda o: o["status"]["phase"]),
        ("Restarts", "integer", lambda o: 0),
        ("Node", "string", lambda o: o["spec"].get("nodeName", "")),
    ],
    "deployments": [
        (
            "Ready",
            "string",
            lambda o: f"{o['status'].get('readyReplicas', 0)}/{o['spec']['replicas']}",
        ),
        ("Up-to-date", "integer", lambda o: o["status"].get("updatedReplicas", 0)),
        ("Available", "integer", lambda o: o["status"].get("availableReplicas", 0)),
    ],
    "statefulsets": [
        (
            "Ready",
            "string",
            lambda o: f"{o['status'].get('readyReplicas', 0)}/{o['spec']['replicas']}",
        ),
    ],
    "configmaps": [("Data", "integer", lambda o: len(o.get("data") or {}))],
    "namespaces": [("Status", "string", lambda o: o["status"]["phase"])],
    "nodes": [
        ("Status", "string", lambda o: "Ready"),
        ("Roles", "string", lambda o: "<none>"),
        ("Version", "string", lambda o: o["status"].get("nodeInfo", {}).get("kubeletVersion")),
    ],
}


def _age(obj: Obj) -> str:
    created = datetime.strptime(obj["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    seconds = max(int(time.time() - created.replace(tzinfo=UTC).timestamp()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def as_table(plural: str, objects: list[Obj], resource_version: str) -> Obj:
    columns = TABLE_COLUMNS.get(plural, [])
    definitions = [
        {"name": "Name", "type": "string", "format": "name", "description": "", "priority": 0}
    ]
    definitions += [
        {"name": n, "type": t, "format": "", "description": "", "priority": 0}
        for n, t, _ in columns
    ]
    definitions.append(
        {"name": "Age", "type": "string", "format": "", "description": "", "priority": 0}
    )
    rows = []
    for obj in objects:
        cells = [obj["metadata"]["name"], *[fn(obj) for _, _, fn in columns], _age(obj)]
        rows.append(
            {
                "cells": cells,
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj["metadata"],
                },
            }
        )
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    }


def make_handler(cluster: Cluster) -> type[BaseHTTPRequestHandler]:
    class KubeHandler(QuietJsonHandler):
        server_version = "leanvibe-demo-kube/1.0"

        def _body(self) -> Any:
            try:
                raw = read_body(self.headers, self.rfile)
            except BodyError as exc:
                self.close_connection = True  # the unread body would poison the connection
                raise ApiError(exc.code, str(exc)) from exc
            try:
                return json.loads(raw or b"null")
            except ValueError as exc:
                raise ApiError(400, f"the body of the request could not be decoded: {exc}") from exc

        def _handle(self, method: str) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                if method == "GET":
                    found = discovery(url.path.rstrip("/") or "/")
                    if found is not None:
                        return self.send_answer(200, found)
                    if url.path in ("/healthz", "/livez", "/readyz"):
                        return self.send_answer(200, "ok", "text/plain")
                m = PATH.match(url.path)
                if not m:
                    raise ApiError(404, "the server could not find the requested resource")
                group = m.group("group") or ""
                plural, name, ns, sub = (
                    m.group("plural"),
                    m.group("name"),
                    m.group("ns"),
                    m.group("sub") or "",
                )
                r = resource(group, plural)
                if r.namespaced and name and not ns:
                    raise ApiError(404, "the server could not find the requested resource")
                dry_run = query.get("dryRun") == "All"
                if "dryRun" in query and not dry_run:
                    raise ApiError(400, f"invalid dryRun value {query['dryRun']!r}: only 'All'")
                if method == "GET" and query.get("watch") in ("true", "1"):
                    raise ApiError(
                        405, "watch is not supported by the demo cluster; poll with list instead"
                    )
                result: Obj | str
                if method == "GET" and sub == "log":
                    tail = query.get("tailLines")
                    if tail is not None and not tail.lstrip("-").isdigit():
                        raise ApiError(400, f"tailLines must be an integer, got {tail!r}")
                    text = cluster.pod_logs(
                        ns, name, query.get("container"), int(tail) if tail is not None else None
                    )
                    return self.send_answer(200, text, "text/plain")
                if method == "GET" and sub == "scale":
                    result = cluster.scale(group, plural, ns, name)
                elif method == "GET" and name:
                    result = cluster.get(group, plural, ns, name)
                elif method == "GET":
                    result = cluster.list_objects(
                        group,
                        plural,
                        ns,
                        query.get("labelSelector", ""),
                        query.get("fieldSelector", ""),
                    )
                    if "as=Table" in (self.headers.get("Accept") or "") and plural in TABLE_COLUMNS:
                        result = as_table(
                            plural, result["items"], result["metadata"]["resourceVersion"]
                        )
                elif method == "PATCH" and name:
                    result = cluster.patch(
                        group,
                        plural,
                        ns,
                        name,
                        self._body(),
                        self.headers.get("Content-Type", ""),
                        dry_run=dry_run,
                        subresource=sub,
                    )
                elif method == "PUT" and name:
                    result = cluster.update(
                        group, plural, ns, name, self._body(), dry_run=dry_run, subresource=sub
                    )
                elif method == "DELETE" and name:
                    options = self._body() or {}  # DeleteOptions may carry dryRun too
                    if isinstance(options, dict) and options.get("dryRun") == ["All"]:
                        dry_run = True
                    result = cluster.delete(group, plural, ns, name, dry_run=dry_run)
                else:
                    raise ApiError(
                        405,
                        f"the server does not allow this method on the "
                        f"requested resource ({method})",
                    )
                if (
                    method == "GET"
                    and name
                    and "as=Table" in (self.headers.get("Accept") or "")
                    and plural in TABLE_COLUMNS
                    and isinstance(result, dict)
                    and result.get("kind") != "Scale"
                ):
                    result = as_table(plural, [result], result["metadata"]["resourceVersion"])
                self.send_answer(200, result)
            except ApiError as error:
                self.send_answer(error.code, error.status())
            except Exception:  # a bug here must answer 500, not drop the connection
                log.exception("demo cluster failed on %s %s", method, self.path)
                self.close_connection = True
                self.send_answer(
                    500, ApiError(500, "internal error in the demo cluster; see its log").status()
                )

        def do_GET(self) -> None:
            self._handle("GET")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def do_POST(self) -> None:
            self.send_answer(
                405, ApiError(405, "the demo cluster does not create objects").status()
            )

    return KubeHandler


def serve(cluster: Cluster, host: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(cluster))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="demo-cluster", daemon=True).start()
    return server


def kubeconfig(url: str) -> str:
    """A kubeconfig for ``kubectl`` and the official client pointing at the demo cluster."""
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: leanvibe-demo\n  cluster:\n    server: {url}\n"
        "contexts:\n- name: leanvibe-demo\n  context:\n    cluster: leanvibe-demo\n"
        f"    namespace: {NAMESPACE}\n    user: demo\n"
        "current-context: leanvibe-demo\n"
        "users:\n- name: demo\n  user: {}\n"
        "preferences: {}\n"
    )
