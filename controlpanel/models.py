"""Models of the project package: the permission catalogue."""

from __future__ import annotations

from django.db import models


class Access(models.Model):
    """Holder of the panel's role permissions, which belong to no single table.

    Unmanaged and without a table: Django still creates its permissions, so groups can be given
    them and views can check them with ``user.has_perm("controlpanel.<codename>")``.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_business", "Can view the overview and business dashboards"),
            ("view_operations", "Can view SRE dashboards, alerts and runbooks"),
            ("run_actions", "Can request runbook actions"),
            ("approve_actions", "Can approve another person's destructive runbook actions"),
            ("sign_off_checklists", "Can check items and sign off maintenance checklists"),
        ]

    def __str__(self) -> str:
        return "role permissions"
