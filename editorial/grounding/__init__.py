"""Grounding: facts from evidence, the sentence verifier, degeneration guards and the per-revision report."""
