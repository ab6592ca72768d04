"""The kinds of runbook action: their parameters and whether they change anything.

Plain data with no Django import, so that the playbook reader (``runbooks/playbook.py``) can
validate a runbook's actions with the same table the panel runs them with.

No parameter names a URL, a host, a port, a file or an environment variable: an action that
reaches out over HTTP names a ``target`` (one of ``RUNBOOK_HTTP_TARGETS`` in the settings,
which hold its URL and the name of its credential's variable) and at most a ``path`` on that
target's host.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from integrations.http_probe import path_problem

# Characters a parameter's text may have, where it enters (the form and the playbook): a
# name (namespace, pod, channel) is short; a query, a message or a JSON body is longer, but
# bounded too, since it is stored with the run, shown on its page and sent on.
NAME_MAX = 200
QUERY_MAX = 4000
MESSAGE_MAX = 2000
JSON_MAX = 10_000
PATTERN_MAX = 500


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    # text, int, json (a mapping), choice, regex, target (the name of a configured HTTP
    # target), path (a path on the target's host), pod (a pod's name, typed with suggestions
    # of the namespace's pods: never a select of them all, the cluster may run thousands)
    type: str = "text"
    required: bool = True
    choices: tuple[str, ...] = ()
    help: str = ""
    max_length: int = NAME_MAX
    # the range of an int (replicas have their own, from the settings)
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    system: str
    params: tuple[Param, ...]
    # Changes something: needs a second SRE's approval (and shows a dry run when it has one).
    is_change: bool = False
    has_dry_run: bool = False


NAMESPACE = Param("namespace", "Namespace", help="From the allowlist in settings.")
TARGET = Param(
    "target",
    "Target",
    "target",
    help="A configured target (RUNBOOK_HTTP_TARGETS): its URL comes from the settings.",
)
PATH = Param("path", "Path", "path", help="A path on that host, such as /health.")
POD = Param("pod", "Pod", "pod", help="Type to narrow the namespace's pods.")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("http_probe", "HTTP timing probe", "http", (TARGET, PATH)),
        Kind(
            "http_request",
            "HTTP request",
            "http",
            (
                Param("method", "Method", "choice", choices=HTTP_METHODS),
                TARGET,
                PATH,
                Param("json_body", "JSON body", "json", required=False, max_length=JSON_MAX),
                Param(
                    "expect_status",
                    "Expected status",
                    "int",
                    required=False,
                    minimum=100,
                    maximum=599,
                ),
            ),
        ),
        Kind(
            "dependency_check",
            "External dependency check",
            "http",
            (
                # No path: the credential goes to the target's own URL and nowhere else.
                Param(
                    "target",
                    "Target",
                    "target",
                    help="A configured target; its URL and credential (the name of the "
                    "variable holding it, whose value is never shown) come from the settings.",
                ),
            ),
        ),
        Kind(
            "promql",
            "PromQL diagnostic",
            "prometheus",
            (Param("query", "PromQL query", max_length=QUERY_MAX),),
        ),
        Kind(
            "notify",
            "Notification",
            "notification",
            (
                Param("channel", "Channel", help="A notification channel's name (admin)."),
                Param("message", "Message", max_length=MESSAGE_MAX),
            ),
        ),
        Kind(
            "k8s_pods",
            "Pods by label",
            "kubernetes",
            (
                NAMESPACE,
                Param("label_selector", "Label selector", required=False, max_length=PATTERN_MAX),
            ),
        ),
        Kind(
            "k8s_describe_pod",
            "Describe a pod",
            "kubernetes",
            (NAMESPACE, POD),
        ),
        Kind(
            "k8s_top_pods",
            "Top pods",
            "kubernetes",
            (NAMESPACE, Param("sort_by", "Sort by", "choice", choices=("cpu", "memory"))),
        ),
        Kind(
            "k8s_logs",
            "Search pod logs",
            "kubernetes",
            (
                NAMESPACE,
                Param(
                    "source",
                    "Pods",
                    help="A label selector (app.kubernetes.io/name=leanvibe), pod/NAME, "
                    "deployment/NAME or statefulset/NAME.",
                ),
                Param(
                    "pattern",
                    "Pattern (regular expression)",
                    "regex",
                    required=False,
                    max_length=PATTERN_MAX,
                ),
                Param("ignore_case", "Ignore case", "choice", choices=("yes", "no")),
                Param("tail", "Lines per pod", "int", minimum=1, maximum=5000),
                Param(
                    "last", "Show the last matches", "int", required=False, minimum=1, maximum=5000
                ),
            ),
        ),
        Kind(
            "k8s_scale",
            "Scale a deployment",
            "kubernetes",
            (NAMESPACE, Param("deployment", "Deployment"), Param("replicas", "Replicas", "int")),
            is_change=True,
            has_dry_run=True,
        ),
        Kind(
            "k8s_restart",
            "Rollout restart",
            "kubernetes",
            (NAMESPACE, Param("workload", "Workload", help="deployment/NAME or statefulset/NAME")),
            is_change=True,
            has_dry_run=True,
        ),
        Kind(
            "k8s_delete_pod",
            "Delete a pod",
            "kubernetes",
            (NAMESPACE, POD),
            is_change=True,
            has_dry_run=True,
        ),
        Kind(
            "k8s_patch_configmap",
            "Patch a configmap",
            "kubernetes",
            (
                NAMESPACE,
                Param("configmap", "ConfigMap"),
                Param("data", "Data to merge", "json", max_length=JSON_MAX),
                Param(
                    "restart",
                    "Then restart",
                    required=False,
                    help="deployment/NAME or statefulset/NAME to restart afterwards; empty: none",
                ),
            ),
            is_change=True,
            has_dry_run=True,
        ),
        Kind("redis_ping", "Redis ping", "redis", ()),
        Kind(
            "redis_flushdb",
            "Redis FLUSHDB",
            "redis",
            (
                Param(
                    "confirm",
                    "Type the database to flush",
                    help="The database number, as shown; anything else refuses the run.",
                ),
            ),
            is_change=True,
            has_dry_run=True,
        ),
        Kind(
            "neo4j_query",
            "Neo4j query",
            "neo4j",
            (Param("query", "Cypher query", max_length=QUERY_MAX),),
        ),
        Kind(
            "neo4j_write",
            "Neo4j schema change",
            "neo4j",
            (Param("query", "Cypher query", max_length=QUERY_MAX),),
            is_change=True,
        ),
        Kind(
            "aws_desired_capacity",
            "Auto Scaling desired capacity",
            "aws",
            (
                Param("group", "Auto Scaling group"),
                Param("capacity", "Desired capacity", "int", minimum=0, maximum=10_000),
            ),
            is_change=True,
        ),
    )
}


# Parameters that once carried a URL or a variable's name: the problem says what replaced them.
_REPLACED = {
    "url": "name a target (and a path on its host); its URL comes from the settings",
    "credential_env": "a target's credential is named in the settings, not in an action",
}
_TARGET_NAME = re.compile(r"[a-z][a-z0-9-]*")


def check_parameters(
    kind_name: str, params: object, *, targets: Collection[str] | None = None
) -> list[str]:
    """Problems with an action's parameters as written in the playbook (placeholders such as
    ``{pod}`` are allowed in text: they are filled from the alert's labels, and the form
    checks the result). A target must be one of ``targets`` (the configured names; when not
    given, any name-shaped value passes here and the form checks it), never a URL; a path
    must be a path on the target's host."""
    kind = KINDS.get(kind_name)
    if kind is None:
        return [f"unknown kind {kind_name!r}; expected one of {', '.join(KINDS)}"]
    if not isinstance(params, dict):
        return ["params must be a mapping"]
    problems = []
    known = {p.name for p in kind.params}
    for extra in sorted(set(params) - known):
        hint = _REPLACED.get(extra, "") if "target" in known else ""
        problems.append(
            f"unknown parameter {extra!r} for {kind_name}" + (f"; {hint}" if hint else "")
        )
    for param in kind.params:
        value = params.get(param.name)
        if value is None or value == "":
            continue
        if param.type == "int" and not isinstance(value, int) and "{" not in str(value):
            problems.append(f"{param.name} must be a whole number, not {value!r}")
        if param.type == "json" and not isinstance(value, dict | list):
            problems.append(f"{param.name} must be a mapping")
        if param.type == "choice" and str(value) not in param.choices:
            expected = ", ".join(param.choices)
            problems.append(f"{param.name} is {value!r}; expected one of {expected}")
        if param.type == "target":
            problems.extend(_target_problems(param.name, value, targets))
        if param.type == "path":
            problem = path_problem(value) if isinstance(value, str) else "must be text"
            if problem:
                problems.append(f"{param.name} is {value!r}: {problem}")
    return problems


def _target_problems(name: str, value: object, targets: Collection[str] | None) -> list[str]:
    names = ", ".join(targets) if targets else "none is configured: RUNBOOK_HTTP_TARGETS"
    text = str(value)
    if not isinstance(value, str) or not _TARGET_NAME.fullmatch(text):
        return [
            f"{name} is {value!r}: name a configured target ({names}), not a URL, host, port "
            "or variable; targets and their URLs come from the settings"
        ]
    if targets is not None and text not in targets:
        return [f"{name} is {value!r}: no such target; expected one of {names}"]
    return []
