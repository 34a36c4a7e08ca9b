"""Encoders, pooling, LoRA adapters, the Lightning module and losses, lexical baselines."""
