"""The experiments: each adds its data and its evaluation to the shared runner."""
