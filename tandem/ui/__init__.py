"""Server-rendered pages for people: reviewers first."""
