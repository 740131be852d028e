"""The sandbox behind `outreach-tui demo`."""
