"""Handwritten digits: reads an 8x8 scan and says which digit 0-9 it shows, with a
per-pixel explanation. The second example, so Tandem is seen not to be about text."""
