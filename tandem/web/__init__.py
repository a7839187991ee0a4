"""What the JSON API and the pages share: access markers, the request-scoped services,
the one error handler and the middleware. Neither the API nor the pages live here."""
