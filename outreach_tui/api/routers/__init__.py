"""One router per resource (FastAPI's bigger-applications layout); app.py includes them."""
