"""`desk ingest` leaves the keyword index current, and a later `desk ask` answers an article
question without importing torch, sentence-transformers, LangChain or matplotlib."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "sentence_transformers", "transformers", "langchain_core", "langchain_text_splitters", "matplotlib")


def test_ingest_writes_the_keyword_index_and_ask_needs_no_torch(tmp_path):
    corpus = tmp_path / "in"
    corpus.mkdir()
    (corpus / "okapi.txt").write_text(
        "title: Okapi Capital trims its bill holdings\npublished: 2025-06-03\n\n"
        "Okapi Capital sold short-dated Treasury bills in May to raise cash for a Norwegian takeover.\n")
    env = {**os.environ, "DESK_DATA_DIR": str(tmp_path / "data"), "DESK_LLM": ""}
    ingest = subprocess.run([sys.executable, "-m", "bot.cli", "ingest", str(corpus)], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=600)
    assert ingest.returncode == 0, ingest.stderr
    assert (tmp_path / "data" / "keyword-index.npz").exists()

    code = (
        "import json, sys\n"
        "from bot.cli import main\n"
        "code = main(['ask', 'Why did Okapi Capital sell Treasury bills?', '--json'])\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    ask = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert ask.returncode == 0, ask.stderr
    answer_json, _, imported = ask.stdout.rstrip().rpartition("\n")
    answer = json.loads(answer_json)
    assert "Norwegian takeover" in answer["text"]
    assert not answer["refused"]
    assert [c["title"] for c in answer["citations"]] == ["Okapi Capital trims its bill holdings"]
    assert json.loads(imported) == []
