"""The panes in the order of the number keys 1 to 9."""

from __future__ import annotations

from outreach_tui.tui.panes.base import Pane


def pane_classes() -> list[type[Pane]]:
    from outreach_tui.tui.panes.audit import AuditPane
    from outreach_tui.tui.panes.campaigns import CampaignsPane
    from outreach_tui.tui.panes.dashboard import DashboardPane
    from outreach_tui.tui.panes.domains import DomainsPane
    from outreach_tui.tui.panes.inbox import InboxPane
    from outreach_tui.tui.panes.leads import LeadsPane
    from outreach_tui.tui.panes.mailboxes import MailboxesPane
    from outreach_tui.tui.panes.queue import QueuePane
    from outreach_tui.tui.panes.suppression import SuppressionPane

    return [
        DashboardPane,
        QueuePane,
        CampaignsPane,
        MailboxesPane,
        DomainsPane,
        InboxPane,
        LeadsPane,
        SuppressionPane,
        AuditPane,
    ]
