"""Leads: ingestion, verification, domain insight, suppression."""
