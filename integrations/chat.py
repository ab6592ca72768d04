"""Chat: the one module that posts to Slack-compatible incoming webhooks (Slack, Mattermost,
Rocket.Chat all take ``{"text": ...}``)."""

from __future__ import annotations

import requests

# Seconds for one webhook POST; Slack answers in well under one, and a hung receiver must not
# hold a batch of deliveries.
TIMEOUT = 5.0


class DeliveryError(Exception):
    """The receiver answered, but not with success (a non-2xx status)."""


def post(url: str, subject: str, body: str) -> None:
    """Post one message. A redirect is not followed: requests would turn the POST into a GET
    and call it success. Raises ``DeliveryError`` or ``OSError`` (requests' errors are OSErrors)."""
    response = requests.post(
        url, json={"text": f"*{subject}*\n{body}"}, timeout=TIMEOUT, allow_redirects=False
    )
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}")
