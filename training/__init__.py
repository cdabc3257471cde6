"""Training pipeline: the only writer of model bundles."""
