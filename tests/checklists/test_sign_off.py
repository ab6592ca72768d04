"""Checking items, signing off, the two-person rule, and a signed-off run refusing every
change: the actions, the models, querysets, the pages and the admin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from checklists import actions
from checklists.actions import ChecklistError
from checklists.choices import Cadence, ItemRole, ItemStatus, RunStatus
from checklists.models import ChecklistRun, RunItem, RunLocked, RunNote


def finish(run: ChecklistRun, user) -> None:
    for item in run.items.all():
        actions.check_item(item, actor=user, note="looked")


@pytest.fixture
def daily(runs):
    return runs[Cadence.DAILY]


@pytest.fixture
def monthly(runs):
    return runs[Cadence.MONTHLY]


@pytest.fixture
def signed(daily, sre):
    finish(daily, sre)
    return actions.sign_off(daily, actor=sre)


def test_it_signs_off_a_daily_run_once_every_item_is_done(daily, sre):
    items = list(daily.items.all())
    actions.check_item(items[0], actor=sre, note="two alerts, both acknowledged")
    actions.mark_not_applicable(items[1], actor=sre, reason="dashboards migrated today")
    with pytest.raises(ChecklistError, match="Not every item is done"):
        actions.sign_off(daily, actor=sre)
    for item in items[2:]:
        actions.check_item(item, actor=sre)
    run = actions.sign_off(daily, actor=sre)
    assert run.status == RunStatus.COMPLETE
    assert run.signed_off_by == sre and run.signed_off_at is not None
    first = RunItem.objects.get(pk=items[0].pk)
    assert (first.status, first.checked_by, first.note) == (
        ItemStatus.DONE, sre, "two alerts, both acknowledged"
    )  # fmt: skip
    assert RunItem.objects.get(pk=items[1].pk).status == ItemStatus.NOT_APPLICABLE


def test_it_needs_a_reason_to_mark_an_item_not_applicable(daily, sre):
    with pytest.raises(ChecklistError, match="why"):
        actions.mark_not_applicable(daily.items.first(), actor=sre, reason="  ")


def test_it_needs_a_different_person_to_review_a_monthly_run(monthly, sre, sre2):
    finish(monthly, sre)
    run = actions.sign_off(monthly, actor=sre)
    assert run.status == RunStatus.AWAITING_REVIEW
    with pytest.raises(ChecklistError, match="different person"):
        actions.review(run, actor=sre)
    assert ChecklistRun.objects.get(pk=run.pk).status == RunStatus.AWAITING_REVIEW
    run = actions.review(run, actor=sre2)
    assert (run.status, run.reviewed_by) == (RunStatus.COMPLETE, sre2)
    with pytest.raises(ChecklistError, match="not waiting"):
        actions.review(run, actor=sre2)


def test_it_refuses_a_review_by_the_signer_at_the_database_too(monthly, sre):
    from django.db import IntegrityError, transaction

    finish(monthly, sre)
    actions.sign_off(monthly, actor=sre)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistRun.objects.filter(pk=monthly.pk).update(
            status=RunStatus.COMPLETE, reviewed_by=sre
        )


def test_it_lets_business_staff_check_business_items_only(daily, business, sre):
    business_item = daily.items.get(role=ItemRole.BUSINESS)
    sre_item = daily.items.filter(role=ItemRole.SRE).first()
    actions.check_item(business_item, actor=business, note="MRR flat, signups up 4 %")
    with pytest.raises(ChecklistError, match="SRE on call"):
        actions.check_item(sre_item, actor=business)
    for item in daily.items.filter(status=ItemStatus.PENDING):
        actions.check_item(item, actor=sre)
    with pytest.raises(ChecklistError, match="Only SREs"):
        actions.sign_off(daily, actor=business)


def test_it_keeps_both_people_s_work_on_the_same_run(daily, sre, sre2):
    first, second = list(daily.items.all())[:2]
    # both loaded the page before either posted: each posts their own item
    actions.check_item(first, actor=sre, note="mine")
    actions.check_item(second, actor=sre2, note="yours")
    # and the same item twice: the second is told who was first, nothing is overwritten
    with pytest.raises(ChecklistError, match="already marked done by sre"):
        actions.check_item(first, actor=sre2, note="overwrite?")
    rows = {i.pk: (i.checked_by.username, i.note) for i in daily.items.exclude(status="pending")}
    assert rows == {first.pk: ("sre", "mine"), second.pk: ("sre2", "yours")}


def test_it_refuses_every_write_to_a_signed_off_run_through_the_models(signed, sre):
    item = signed.items.first()
    # actions
    with pytest.raises(ChecklistError, match="signed off"):
        actions.reopen_item(item, actor=sre)
    # model save and delete
    signed.title = "edited"
    with pytest.raises(RunLocked):
        signed.save()
    with pytest.raises(RunLocked):
        signed.delete()
    item.note = "edited"
    with pytest.raises(RunLocked):
        item.save()
    with pytest.raises(RunLocked):
        item.delete()
    # querysets
    with pytest.raises(RunLocked):
        ChecklistRun.objects.filter(pk=signed.pk).update(status=RunStatus.OPEN)
    with pytest.raises(RunLocked):
        ChecklistRun.objects.all().delete()
    with pytest.raises(RunLocked):
        RunItem.objects.filter(run=signed).update(note="edited")
    with pytest.raises(RunLocked):
        RunItem.objects.filter(run=signed).delete()
    fresh = ChecklistRun.objects.get(pk=signed.pk)
    assert fresh.title != "edited" and fresh.status == RunStatus.COMPLETE
    assert not RunItem.objects.filter(note="edited").exists()
    # a correction is a note, which is never edited either
    note = actions.add_note(signed, actor=sre, text="Backup check was on the replica, not primary.")
    note.text = "changed"
    with pytest.raises(RunLocked):
        note.save()
    assert RunNote.objects.get(pk=note.pk).text.startswith("Backup check")


def test_it_refuses_changes_to_a_signed_off_run_through_the_page(signed, sre_client):
    item = signed.items.first()
    for name, pk, data in [
        ("checklists:reopen-item", item.pk, {}),
        ("checklists:check-item", item.pk, {"note": "again"}),
        ("checklists:not-applicable", item.pk, {"reason": "because"}),
        ("checklists:sign-off", signed.pk, {}),
        ("checklists:gather-evidence", signed.pk, {}),
        ("checklists:set-owner", signed.pk, {"owner": ""}),
    ]:
        response = sre_client.post(reverse(name, args=[pk]), data, follow=True)
        assert response.status_code == 200
        assert "cannot be changed" in response.content.decode() or "keeps the evidence" in (
            response.content.decode()
        ), name
    assert RunItem.objects.get(pk=item.pk).status == ItemStatus.DONE
    page = sre_client.get(reverse("checklists:run", args=[signed.pk])).content.decode()
    assert 'data-testid="check"' not in page and "Reopen" not in page
    assert "Signed off by sre" in page


def test_it_shows_a_signed_off_run_read_only_in_the_admin(signed, admin_client):
    change = reverse("admin:checklists_checklistrun_change", args=[signed.pk])
    response = admin_client.get(change)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="owner"' not in page and 'name="_save"' not in page
    response = admin_client.post(
        change, {"owner": "", "due_at_0": "2020-01-01", "due_at_1": "00:00"}
    )
    assert response.status_code == 403
    delete = reverse("admin:checklists_checklistrun_delete", args=[signed.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert ChecklistRun.objects.filter(pk=signed.pk).exists()


def test_it_lets_the_admin_move_an_open_run_s_owner(daily, admin_client, sre):
    change = reverse("admin:checklists_checklistrun_change", args=[daily.pk])
    page = admin_client.get(change).content.decode()
    assert 'name="owner"' in page and 'name="_save"' in page


def test_it_walks_a_monthly_run_through_the_pages(monthly, sre, sre_client, sre2_client):
    for item in monthly.items.all():
        sre_client.post(reverse("checklists:check-item", args=[item.pk]), {"note": "ok"})
    sre_client.post(reverse("checklists:sign-off", args=[monthly.pk]))
    page = sre_client.get(reverse("checklists:run", args=[monthly.pk])).content.decode()
    assert "Waiting for a review by a different SRE" in page
    assert 'data-testid="review"' not in page
    # the signer posting a review anyway is refused
    sre_client.post(reverse("checklists:review-run", args=[monthly.pk]))
    assert ChecklistRun.objects.get(pk=monthly.pk).status == RunStatus.AWAITING_REVIEW
    page = sre2_client.get(reverse("checklists:run", args=[monthly.pk])).content.decode()
    assert 'data-testid="review"' in page
    sre2_client.post(reverse("checklists:review-run", args=[monthly.pk]))
    run = ChecklistRun.objects.get(pk=monthly.pk)
    assert (run.status, run.signed_off_by.username, run.reviewed_by.username) == (
        RunStatus.COMPLETE, "sre", "sre2"
    )  # fmt: skip
