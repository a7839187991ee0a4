"""Bug triage and post-mortems: turning what went wrong into what gets fixed."""
