"""The reliability suite of docs/RELIABILITY.md: crashes, faults, bad input, hostile text."""
