"""The stakeholder report: what the system delivered over a window, in plain numbers
and plots, as a page, a self-contained HTML file and a PDF."""
