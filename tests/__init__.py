"""Tests: unit/, integration/ (real Chroma, fake Discord, fake LLM), reliability/, eval/."""
