"""Server-rendered pages for people, reviewers first; they call the same services as the API."""
