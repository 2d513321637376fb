"""Training: data, losses, the loop, checkpoints and exported weights."""
