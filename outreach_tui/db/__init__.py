"""Persistence: SQLModel tables, the engine factory, migrations and the queries others use."""
