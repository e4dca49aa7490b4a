"""Training, evaluation, metrics and experiment tracking."""
