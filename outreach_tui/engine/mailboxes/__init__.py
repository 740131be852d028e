"""Mailboxes: from config, from CSV, the operator's actions on them."""
