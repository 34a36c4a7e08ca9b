"""Hydra plugins of teamform-bench (found by Hydra's plugin scan of the ``hydra_plugins`` namespace)."""
