"""What a model must provide to be served by Tandem, and how versions are stored."""
