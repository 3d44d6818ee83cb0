"""The network allowlist of a workspace."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import WorkspaceScopedModel
from switchboard.ids import id_field


class AllowlistEntry(WorkspaceScopedModel):
    """A private host or network the workspace's outbound requests may reach on purpose (intranet).

    ``value`` is a CIDR network (``10.20.0.0/16``), an IP address, or a host name with an optional
    port (``wiki.corp.example:8443``). Addresses the egress helper never connects to (cloud
    metadata services, multicast, …) stay refused whatever is listed.
    """

    id = id_field("egr")
    value = models.CharField(max_length=300)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["value"]
        constraints = [models.UniqueConstraint(fields=["workspace", "value"], name="network_allowlist_unique")]

    def __str__(self) -> str:
        return self.value
