"""The form of one action: its kind's parameters, prefilled from the playbook and the alert's
labels, checked by the executors' rules (allowlist, bounds, the FLUSHDB confirmation). A
target is a choice among the configured names; no field takes a URL, host, port or variable,
and fields the kind does not declare are never read.

A pod is typed, with a bounded list of suggestions (``suggest_pods``: at most
``SUGGESTED_PODS`` of the namespace's pods that match what is typed, those not ready first,
and how many more match), never a select of every pod: a cluster may run thousands."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.conf import settings

from core import caching
from integrations import http_probe as probes
from integrations import kubernetes as kube
from integrations import redis_cache as cache
from runbooks import executors
from runbooks.models import Action

# A suggestion list a person can read; what is typed narrows the rest.
SUGGESTED_PODS = 50
# The namespace's pods are listed once for this long, for every picker and keystroke.
POD_LIST_SECONDS = 15
# What may be typed to narrow them: a pod's name is at most 253 characters.
POD_FILTER_MAX = 253


@dataclass(frozen=True)
class PodSuggestions:
    """Pods to suggest for what was typed: ``pods`` (at most ``SUGGESTED_PODS``), ``more``
    that match but are not listed, ``total`` in the namespace, or why there are none."""

    namespace: str
    typed: str = ""
    pods: list[kube.PodBrief] = field(default_factory=list)
    more: int = 0
    total: int = 0
    error: str = ""

    @property
    def matching(self) -> int:
        return len(self.pods) + self.more


def _namespace_pods(namespace: str) -> tuple[list[kube.PodBrief], str]:
    def compute() -> tuple[list[kube.PodBrief], str]:
        try:
            return kube.pod_briefs(namespace), ""
        except kube.KubeError as exc:
            # Kept as briefly as an answer: a cluster that is down is not asked per keystroke.
            return [], str(exc)

    return caching.shared(f"runbooks:pods:{namespace}", POD_LIST_SECONDS, compute)  # type: ignore[no-any-return]


def suggest_pods(namespace: str, typed: str = "") -> PodSuggestions:
    """The namespace's pods whose name contains ``typed`` (any case), those not ready first,
    then by name; at most ``SUGGESTED_PODS`` and the count of the rest."""
    if namespace not in settings.RUNBOOK_NAMESPACES:
        return PodSuggestions(namespace, typed, error="not an allowlisted namespace")
    pods, error = _namespace_pods(namespace)
    needle = typed.strip().lower()
    matching = sorted(
        (p for p in pods if needle in p.name.lower()), key=lambda p: (p.is_ready, p.name)
    )
    return PodSuggestions(
        namespace,
        typed,
        matching[:SUGGESTED_PODS],
        max(len(matching) - SUGGESTED_PODS, 0),
        len(pods),
        error,
    )


class ActionForm(forms.Form):
    def __init__(self, action: Action, *args: Any, initial_values: dict[str, Any], **kwargs: Any):
        kwargs["prefix"] = f"a{action.pk}"
        super().__init__(*args, **kwargs)
        self.action = action
        self.params: dict[str, Any] = {}
        # The pod field's suggestions, when the form has one (``suggestions_for`` fills it).
        self.pod_suggestions: PodSuggestions | None = None
        for param in action.spec.params:
            value = initial_values.get(param.name)
            help_text = param.help
            if param.type == "int":
                field: forms.Field = forms.IntegerField(
                    required=param.required, min_value=param.minimum, max_value=param.maximum
                )
                if param.minimum is not None and param.maximum is not None:
                    bounds = f"From {param.minimum:,} to {param.maximum:,}."
                    help_text = f"{help_text} {bounds}".strip()
            elif param.type == "choice":
                field = forms.ChoiceField(
                    choices=[(c, c) for c in param.choices], required=param.required
                )
            elif param.type == "target":
                field = forms.ChoiceField(
                    choices=[
                        (name, f"{name} ({target['url']})")
                        for name, target in settings.RUNBOOK_HTTP_TARGETS.items()
                    ],
                    required=param.required,
                )
            elif param.type == "pod":
                field = forms.CharField(
                    required=param.required,
                    max_length=param.max_length,
                    widget=forms.TextInput(
                        attrs={
                            "size": 40,
                            "list": f"{self.prefix}-{param.name}-options",
                            "autocomplete": "off",
                            "spellcheck": "false",
                            "data-pod-picker": "",
                        }
                    ),
                )
            elif param.type == "path":
                field = forms.CharField(
                    required=param.required,
                    max_length=probes.PATH_MAX,
                    widget=forms.TextInput(attrs={"size": 30}),
                )
            elif param.type == "json":
                field = forms.CharField(
                    required=param.required,
                    max_length=param.max_length,
                    widget=forms.Textarea(attrs={"rows": 2}),
                )
                if value not in (None, ""):
                    value = json.dumps(value)
            else:
                wide = param.name in ("query", "source", "message")
                field = forms.CharField(
                    required=param.required,
                    max_length=param.max_length,
                    widget=forms.TextInput(attrs={"size": 70 if wide else 20}),
                )
            if action.kind == "redis_flushdb" and param.name == "confirm":
                try:
                    help_text = f"Type {cache.database()} ({cache.where()}) to flush it."
                except Exception:  # a bad RUNBOOK_REDIS_URL shows on the run, not here
                    help_text = "Type the database number."
                value = ""  # never prefilled: typing it is the point
            if isinstance(field, forms.CharField) and field.max_length:
                limit = f"At most {field.max_length:,} characters."
                help_text = f"{help_text} {limit}".strip()
                field.error_messages["max_length"] = (
                    f"At most {field.max_length:,} characters (this is %(show_value)s)."
                )
            field.label = param.label
            field.help_text = help_text
            field.initial = value
            self.fields[param.name] = field

    @property
    def pod_field(self) -> str | None:
        return next((p.name for p in self.action.spec.params if p.type == "pod"), None)

    def suggest(self) -> None:
        """Fill ``pod_suggestions`` for the form's namespace (as shown, or as posted)."""
        if self.pod_field is None:
            return
        namespace = ""
        if "namespace" in self.fields:
            bound = self["namespace"]
            namespace = str(bound.value() or "")
        namespace = namespace or (
            settings.RUNBOOK_NAMESPACES[0] if settings.RUNBOOK_NAMESPACES else ""
        )
        self.pod_suggestions = suggest_pods(namespace)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        params, errors = executors.clean(self.action.kind, data)
        for name, message in errors.items():
            self.add_error(name if name in self.fields else None, message)
        self.params = params
        return data
