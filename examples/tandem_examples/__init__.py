"""Tandem's shipped examples (imported as `tandem_examples`)."""
