"""teamform-bench: the harness (CLI, datasets, retrieval, evaluation, metrics, run store)."""

__version__ = "0.1.0"
