"""The API's pydantic models, by resource: the contract /openapi.json documents. Every model
and field has a description; requests refuse unknown fields where a typo would silently be
ignored."""
