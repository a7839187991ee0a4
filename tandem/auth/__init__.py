"""API keys and roles: who may call what (HTTP wiring lives in tandem.web.access)."""
