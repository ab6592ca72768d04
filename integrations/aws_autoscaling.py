"""The one module that talks to AWS Auto Scaling (boto3), only when ``AWS_REGION`` is set.

Credentials come from ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` in settings when they
are set, otherwise from boto3's own chain (instance role, profile); ``AWS_ENDPOINT_URL`` points
it elsewhere than AWS (the tests' moto server, a VPC endpoint)."""

from __future__ import annotations

from typing import Any

from django.conf import settings


class AutoScalingError(Exception):
    """AWS is not configured or refused the change."""


def is_configured() -> bool:
    return bool(settings.AWS_REGION)


def _client() -> Any:
    if not is_configured():
        raise AutoScalingError("AWS is not configured: set AWS_REGION (and credentials)")
    import boto3
    from botocore.config import Config

    credentials = {}
    if settings.AWS_ACCESS_KEY_ID:
        credentials = {
            "aws_access_key_id": settings.AWS_ACCESS_KEY_ID,
            "aws_secret_access_key": settings.AWS_SECRET_ACCESS_KEY,
        }
    return boto3.client(
        "autoscaling",
        region_name=settings.AWS_REGION,
        endpoint_url=settings.AWS_ENDPOINT_URL or None,
        # botocore waits a minute per attempt by default: an unreachable endpoint must fail
        # well inside the action's time limit, with the reason.
        config=Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 2}),
        **credentials,
    )


def desired_capacity(group: str) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = _client().describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    except (BotoCoreError, ClientError) as exc:
        raise AutoScalingError(f"AWS: {exc}") from exc
    groups = answer.get("AutoScalingGroups", [])
    if not groups:
        raise AutoScalingError(f"no Auto Scaling group named {group!r}")
    return int(groups[0]["DesiredCapacity"])


def set_desired_capacity(group: str, capacity: int) -> tuple[int, int]:
    """Set the group's desired capacity (AWS keeps it within the group's min and max and
    refuses otherwise); returns the capacity before and after."""
    from botocore.exceptions import BotoCoreError, ClientError

    before = desired_capacity(group)
    try:
        _client().set_desired_capacity(
            AutoScalingGroupName=group, DesiredCapacity=capacity, HonorCooldown=False
        )
    except (BotoCoreError, ClientError) as exc:  # the message says what AWS refused
        raise AutoScalingError(f"AWS refused: {exc}") from exc
    return before, desired_capacity(group)
