"""The pane bar: `1 Dash 2 Queue ...`, the current pane highlighted."""

from __future__ import annotations

from textual.widgets import Static


class PaneBar(Static):
    def show(self, labels: list[tuple[str, str]], current: str) -> None:
        cells = []
        for number, (pane_id, short) in enumerate(labels, start=1):
            text = f"{number} {short}"
            cells.append(f"[reverse b] {text} [/]" if pane_id == current else f" {text} ")
        self.update("".join(cells))
