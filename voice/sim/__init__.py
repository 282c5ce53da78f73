"""Synthesized test speech for tests and benches."""
