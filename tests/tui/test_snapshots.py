"""Every pane at 80x24 and at 120x40, on the deterministic world of conftest.py.

Regenerate after an intended change with `pytest tests/tui --snapshot-update`, then look at
the SVGs under __snapshots__/ before committing them."""

from __future__ import annotations

import pytest

from outreach_tui.tui.panes.registry import pane_classes
from tests.tui.helpers import settle

PANES = [(str(n), cls.PANE_ID) for n, cls in enumerate(pane_classes(), start=1)]


def open_pane(key: str):
    async def run_before(pilot) -> None:
        await pilot.press(key)
        await settle(pilot)

    return run_before


@pytest.mark.parametrize(("key", "pane"), PANES, ids=[pane for _, pane in PANES])
class TestPanesAt80x24:
    def test_pane(self, key, pane, make_app, snap_compare):
        assert snap_compare(make_app(), terminal_size=(80, 24), run_before=open_pane(key))


@pytest.mark.parametrize(("key", "pane"), PANES, ids=[pane for _, pane in PANES])
class TestPanesAt120x40:
    def test_pane(self, key, pane, make_app, snap_compare):
        assert snap_compare(make_app(), terminal_size=(120, 40), run_before=open_pane(key))
