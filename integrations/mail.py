"""SMTP: the one module that sends email (through Django's mail backend and EMAIL_* settings)."""

from __future__ import annotations

from django.conf import settings
from django.core import mail


def send(addresses: list[str], subject: str, body: str) -> None:
    """One message to all the addresses: a list reads as one notice, not one each. Raises
    ``OSError`` (SMTP, DNS) or ``ValueError`` (a header the mail library refuses)."""
    mail.EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, addresses).send()
