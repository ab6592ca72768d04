"""The checklists in the playbook file: validated with line numbers, loaded idempotently,
editable in the admin, and copied into runs so that an edit never reaches a past run."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from checklists.actions import open_runs
from checklists.choices import Cadence
from checklists.models import ChecklistRun, ChecklistTemplate, RotaMember, TemplateItem
from controlpanel.playbook import DEFAULT_PATH, load, parse
from core.playbook_reader import PlaybookError

PLAYBOOK_ITEMS = {
    Cadence.DAILY: [
        "Review overnight alerts and incidents",
        "Check dashboard health and data freshness",
        "Verify backup completion status",
        "Review business metrics trends",
    ],
    Cadence.QUARTERLY: [
        "Comprehensive monitoring system review",
        "Update monitoring strategy based on business changes",
        "Review and update escalation procedures",
        "Training updates for new team members",
    ],
}


def test_it_reads_the_playbook_s_four_checklists():
    checklists = load().checklists
    assert list(checklists) == list(Cadence.values)
    for cadence, titles in PLAYBOOK_ITEMS.items():
        assert [i.title for i in checklists[cadence].items] == titles
    assert all(len(c.items) == 4 for c in checklists.values())


def test_it_reports_checklist_mistakes_with_their_lines():
    text = DEFAULT_PATH.read_text()
    broken = text.replace("        evidence: backup\n", "        evidence: backups\n", 1).replace(
        "  quarterly:\n    title: Quarterly monitoring tasks\n    due: 9d17h\n",
        "  yearly:\n    title: Yearly\n    due: soon\n",
    )
    with pytest.raises(PlaybookError) as caught:
        parse(broken)
    problems = "\n".join(caught.value.problems)
    line = broken.splitlines().index("        evidence: backups") + 1
    assert f"line {line}: checklists.daily.items[3].evidence is 'backups'" in problems
    assert "checklists.yearly: unknown cadence" in problems
    assert "the quarterly checklist is missing" in problems


def test_it_loads_templates_idempotently(db):
    devnull = open(os.devnull, "w")  # noqa: SIM115
    call_command("load_playbook", stdout=devnull)
    before = list(TemplateItem.objects.values_list("pk", "title"))
    call_command("load_playbook", stdout=devnull)
    assert list(TemplateItem.objects.values_list("pk", "title")) == before
    assert ChecklistTemplate.objects.count() == 4 and len(before) == 16


def test_it_applies_an_admin_edit_to_later_periods_only(templates, admin_client, settings):
    settings.TIME_ZONE = "UTC"
    with time_machine.travel(datetime(2026, 2, 10, 9, tzinfo=UTC), tick=False):
        open_runs()
    template = ChecklistTemplate.objects.get(cadence=Cadence.DAILY)
    items = list(template.items.all())
    form = {
        "title": template.title,
        "due_after": "17:00:00",
        "items-TOTAL_FORMS": str(len(items) + 1),
        "items-INITIAL_FORMS": str(len(items)),
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
    }
    for index, item in enumerate(items):
        form |= {
            f"items-{index}-id": str(item.pk),
            f"items-{index}-template": str(template.pk),
            # reversed order, and the backup item removed
            f"items-{index}-position": str(10 - index),
            f"items-{index}-title": item.title,
            f"items-{index}-evidence": item.evidence,
            f"items-{index}-role": item.role,
        }
        if "backup" in item.title:
            form[f"items-{index}-DELETE"] = "on"
    new = len(items)
    form |= {
        f"items-{new}-template": str(template.pk),
        f"items-{new}-position": "1",
        f"items-{new}-title": "Check the certificate expiry dashboard",
        f"items-{new}-evidence": "none",
        f"items-{new}-role": "sre",
    }
    url = reverse("admin:checklists_checklisttemplate_change", args=[template.pk])
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    template.refresh_from_db()
    assert template.is_edited_in_admin
    # the past run keeps its copy; the next period gets the edited list
    past = ChecklistRun.objects.get(cadence=Cadence.DAILY)
    assert [i.title for i in past.items.all()] == PLAYBOOK_ITEMS[Cadence.DAILY]
    with time_machine.travel(datetime(2026, 2, 11, 9, tzinfo=UTC), tick=False):
        open_runs()
    later = ChecklistRun.objects.get(cadence=Cadence.DAILY, period_start="2026-02-11")
    assert [i.title for i in later.items.all()] == [
        "Check the certificate expiry dashboard",
        "Review business metrics trends",
        "Check dashboard health and data freshness",
        "Review overnight alerts and incidents",
    ]
    # reloading the playbook leaves the edited template alone, and says so
    out = open(os.devnull, "w")  # noqa: SIM115
    call_command("load_playbook", stdout=out)
    assert template.items.count() == 4
    assert not template.items.filter(title="Verify backup completion status").exists()


def test_it_gives_runs_owners_from_the_rota_in_turn(templates, sre, sre2, settings):
    settings.TIME_ZONE = "UTC"
    RotaMember.objects.create(user=sre, cadence=Cadence.DAILY, position=1)
    RotaMember.objects.create(user=sre2, cadence=Cadence.DAILY, position=2)
    owners = []
    for day in (3, 4, 5):
        with time_machine.travel(datetime(2026, 3, day, 9, tzinfo=UTC), tick=False):
            open_runs()
        owners.append(
            ChecklistRun.objects.get(cadence="daily", period_start=f"2026-03-0{day}").owner
        )
    assert owners[0] != owners[1] and owners[0] == owners[2]
    assert {o.username for o in owners} == {"sre", "sre2"}
    assert ChecklistRun.objects.get(cadence="weekly").owner is None  # no rota for weeks
