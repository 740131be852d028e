"""outreach-tui: a terminal console for cold-email outreach from your own mailboxes."""

__version__ = "0.1.0"
__all__ = ["__version__"]
