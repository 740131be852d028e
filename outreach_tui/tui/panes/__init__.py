"""One pane per file; `PANES` lists them in the order of the number keys 1 to 9."""
