"""Integration tests: real model, real Chroma (embedded and server), fake Discord, fake LLM."""
