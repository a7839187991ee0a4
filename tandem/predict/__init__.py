"""Serving one prediction: the service, the latency guard and the versions being served."""
