"""Governing model versions: register, card, shadow, compare, promote, roll back, replay."""
