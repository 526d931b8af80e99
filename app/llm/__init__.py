"""LLM engines."""
