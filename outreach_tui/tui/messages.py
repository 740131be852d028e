"""Messages the console's widgets post to the App (small, immutable, coalescing)."""

from __future__ import annotations

from textual.message import Message


class StatusChanged(Message):
    """Something the status line shows may have changed (an action ran): read it again."""

    def can_replace(self, message: Message) -> bool:
        # A burst of actions needs one refresh of the status line, not one each.
        return isinstance(message, StatusChanged)
