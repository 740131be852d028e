"""What the console and the CLI read: the panes' read models (queries.py), why a lead is not
written to (explain.py), what goes out next (forecast.py), and the CSV exports (exports.py).
Every statement behind them is in db/repos (views_*.py, exports.py)."""
