"""Which labels make an alert's group and its card: the route's ``group_by`` (what
Alertmanager puts in one notification) and the labels that only say where an alert fires
(pod, instance), so that the same alert on many pods is one card on the firing list."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

# The route's group_by, as stack/configuration.py (alertmanager_config) and
# deploy/alertmanager/alertmanager.yml configure it. A constant, never a user's value: the
# firing list groups as the notifications do, and an index serves exactly these columns.
ROUTE_GROUP_BY: tuple[str, ...] = ("alertname", "severity", "tenant_tier")

# Labels that only say where an alert fires. Alerts equal in every other label (the alert
# name and severity among them) are one problem seen in several places: one card, its
# instances listed, one acknowledgement and one silence for all of them. Changing this set
# changes new rows only; stored rows keep the card they were given (see FiringAlert.card_key).
INSTANCE_LABELS: frozenset[str] = frozenset(
    {
        "instance",
        "pod",
        "pod_name",
        "kubernetes_pod_name",
        "container",
        "container_id",
        "node",
        "nodename",
        "host",
        "hostname",
        "replica",
    }
)


def card_key(labels: Mapping[str, str]) -> str:
    """The same for alerts that differ only in their instance labels."""
    kept = sorted((str(k), str(v)) for k, v in labels.items() if k not in INSTANCE_LABELS)
    return hashlib.sha256(json.dumps(kept).encode()).hexdigest()[:32]


def instance_labels(labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """The labels that say where this one fires, by name."""
    return sorted((k, str(v)) for k, v in labels.items() if k in INSTANCE_LABELS)


def shared_labels(
    labels: Mapping[str, str], *, leave_out: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """The labels every instance of a card has alike, but for ``leave_out``."""
    skipped = set(leave_out) | INSTANCE_LABELS
    return sorted((k, str(v)) for k, v in labels.items() if k not in skipped)
