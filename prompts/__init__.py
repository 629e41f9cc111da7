"""Prompt templates live as plain files beside this module; `load` reads one by name."""

from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent


@cache
def load(name: str) -> str:
    return (HERE / f"{name}.txt").read_text(encoding="utf-8")
