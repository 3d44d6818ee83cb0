"""Bots, conversations and messages; the chat runtime; the chat REST and OpenAI-compatible APIs."""
