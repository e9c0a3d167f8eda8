"""Keyword classification: the offline rules, an OpenAI-compatible model, and the cache."""
