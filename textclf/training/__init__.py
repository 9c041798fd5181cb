"""Training: the batching strategies (the subject of the study), the torch training loop and its timing."""
