"""The form of one action: its kind's parameters, prefilled from the playbook and the alert's
labels, checked by the executors' rules (allowlist, bounds, the FLUSHDB confirmation). A
target is a choice among the configured names; no field takes a URL, host, port or variable,
and fields the kind does not declare are never read."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings

from integrations import http_probe as probes
from integrations import redis_cache as cache
from runbooks import executors
from runbooks.models import Action


class ActionForm(forms.Form):
    def __init__(self, action: Action, *args: Any, initial_values: dict[str, Any], **kwargs: Any):
        kwargs["prefix"] = f"a{action.pk}"
        super().__init__(*args, **kwargs)
        self.action = action
        self.params: dict[str, Any] = {}
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

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        params, errors = executors.clean(self.action.kind, data)
        for name, message in errors.items():
            self.add_error(name if name in self.fields else None, message)
        self.params = params
        return data
