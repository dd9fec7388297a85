"""The model: pure training, metrics, explanations and the one scoring path."""
