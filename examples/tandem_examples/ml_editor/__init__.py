"""The ML Editor: scores how well a question is written, explains why, suggests changes."""
