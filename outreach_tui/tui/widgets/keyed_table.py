"""A DataTable refreshed by diff, keyed by the database's primary key.

A live pane calls `sync(rows)` every few seconds: changed cells are updated in place, new
rows appended, vanished rows dropped; only when the order itself changed is the table
rebuilt. The cursor stays on the same record either way, so an operator reading row 40 is
not thrown back to the top by a refresh.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from outreach_tui.tui.widgets.format import clean_text, plain

Cell = str | Text
Row = tuple[str, Sequence[Cell]]


def _plain(cell: Cell) -> Cell:
    # DataTable reads a str cell as Rich markup: data such as a reason "see [/notes]" would
    # crash the render, "[b]" would style. Data is shown as it is, but never a terminal
    # control: every cell of every table passes here (core/screen_text.py).
    return plain(cell) if isinstance(cell, str) else clean_text(cell)


class KeyedTable(DataTable[Cell]):
    DEFAULT_CSS = """
    KeyedTable { height: 1fr; }
    """

    def __init__(self, columns: Sequence[str], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._column_names = list(columns)
        self._order: list[str] = []
        self._cells: dict[str, tuple[Cell, ...]] = {}

    def on_mount(self) -> None:
        for name in self._column_names:
            self.add_column(name, key=name)

    @property
    def keys(self) -> list[str]:
        return list(self._order)

    def current_key(self) -> str | None:
        if not self._order or self.cursor_row < 0 or self.cursor_row >= len(self._order):
            return None
        return self._order[self.cursor_row]

    def rows_now(self) -> list[Row]:
        """What the table shows, as `sync` takes it."""
        return [(key, self._cells[key]) for key in self._order]

    def sync(self, rows: Sequence[Row]) -> None:
        """Make the table show `rows` (key, cells), touching only what changed."""
        new_order = [key for key, _ in rows]
        new_cells = {key: tuple(_plain(cell) for cell in cells) for key, cells in rows}
        survivors = [k for k in self._order if k in new_cells]
        appended = [k for k in new_order if k not in self._cells]
        if new_order != survivors + appended:
            self._rebuild(new_order, new_cells)
            return
        for key in self._order:
            if key not in new_cells:
                self.remove_row(key)
        for key in survivors:
            old, new = self._cells[key], new_cells[key]
            for column, (before, after) in enumerate(zip(old, new, strict=True)):
                if before != after:
                    self.update_cell(key, self._column_names[column], after, update_width=True)
        for key in appended:
            self.add_row(*new_cells[key], key=key)
        self._order = new_order
        self._cells = new_cells

    def _rebuild(self, order: list[str], cells: dict[str, tuple[Cell, ...]]) -> None:
        keep = self.current_key()
        self.clear()
        for key in order:
            self.add_row(*cells[key], key=key)
        self._order, self._cells = order, cells
        if keep in cells:
            self.move_cursor(row=order.index(keep), animate=False)
