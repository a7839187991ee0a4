"""Humans in the loop: which predictions they see, and what their answers become."""
