"""The JSON API under /v1, one module per resource: routes parse, call a service, answer."""
