"""Checkpoint layouts of other implementations (PaddleScience's WGAN-GP example)."""
