"""The Auto Scaling desired-capacity action through boto3, against moto's server mode: the
dry run shows the group's capacity, the change waits for a second SRE, then AWS has it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from runbooks import actions
from runbooks.choices import RunStatus
from runbooks.models import Action
from tests.services import free_port

pytestmark = pytest.mark.django_db

REGION = "eu-west-1"
GROUP = "leanvibe-nodes"


@pytest.fixture
def aws(settings) -> Iterator[Any]:
    """A moto server with the playbook's Auto Scaling group at 3 nodes (1 to 8), the panel's
    settings pointing at it; yields a boto3 client of the test's own."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    settings.AWS_REGION, settings.AWS_ENDPOINT_URL = REGION, endpoint
    settings.AWS_ACCESS_KEY_ID, settings.AWS_SECRET_ACCESS_KEY = "testing", "testing"
    client = boto3.client(
        "autoscaling",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_launch_configuration(
        LaunchConfigurationName="nodes", ImageId="ami-12c6146b", InstanceType="t3.large"
    )
    client.create_auto_scaling_group(
        AutoScalingGroupName=GROUP,
        LaunchConfigurationName="nodes",
        MinSize=1,
        MaxSize=8,
        DesiredCapacity=3,
        AvailabilityZones=[f"{REGION}a"],
    )
    yield client
    server.stop()


def desired(client: Any) -> int:
    groups = client.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])
    return int(groups["AutoScalingGroups"][0]["DesiredCapacity"])


def add_nodes() -> Action:
    return Action.objects.get(step__runbook__name="HighCPUUsage", kind="aws_desired_capacity")


def test_it_sets_the_desired_capacity_after_a_second_sre_approves(
    sre, sre2, playbook, run_on_commit, aws
):
    run = run_on_commit(
        actions.request_run, add_nodes(), {"group": GROUP, "capacity": 6}, actor=sre
    )
    assert run.status == RunStatus.AWAITING_APPROVAL
    assert run.preview == f"Auto Scaling group {GROUP}\n- desired: 3\n+ desired: 6"
    with pytest.raises(actions.RunRefused):
        actions.approve_run(run, actor=sre)
    assert desired(aws) == 3

    run_on_commit(actions.approve_run, run, actor=sre2)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.output == f"Auto Scaling group {GROUP}: desired capacity 3 → 6\n"
    assert desired(aws) == 6


def test_it_fails_plainly_when_aws_cannot_be_reached_after_approval(
    sre, sre2, playbook, run_on_commit, aws, settings
):
    run = run_on_commit(
        actions.request_run, add_nodes(), {"group": GROUP, "capacity": 6}, actor=sre
    )
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    run_on_commit(actions.approve_run, run, actor=sre2)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("AWS: Could not connect to the endpoint URL")
    assert desired(aws) == 3


def test_it_says_when_aws_is_not_configured_or_the_group_is_missing(
    sre, playbook, run_on_commit, aws, settings
):
    missing = run_on_commit(
        actions.request_run, add_nodes(), {"group": "nope", "capacity": 2}, actor=sre
    )
    assert missing.preview == "Dry run failed: no Auto Scaling group named 'nope'"
    settings.AWS_REGION = ""
    unset = run_on_commit(
        actions.request_run, add_nodes(), {"group": GROUP, "capacity": 2}, actor=sre
    )
    assert unset.preview.startswith("Dry run failed: AWS is not configured: set AWS_REGION")
