"""The HTTP service: routes parse and answer; services hold the rules."""
