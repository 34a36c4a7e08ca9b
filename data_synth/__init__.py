"""Synthetic training data: LLM client, prompts, generation stages, Eureka, simulated annotator."""
