"""Query embedding through the ONNX export: the same vectors as sentence-transformers (so the
stored embeddings stay valid), no torch in the process, the export made once and made again
when damaged, and other models either exported the same way or run by sentence-transformers."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrieval import onnx_embedder
from retrieval.embedder import BATCH_THREADS, Embedder, bundled_model_path

REPO = Path(__file__).resolve().parents[2]
MAX_COSINE_GAP = 1e-4


def eval_questions() -> list[str]:
    lines = (REPO / "tests" / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


@pytest.fixture(scope="module")
def reference():
    """sentence-transformers itself, as the ingest runs it."""
    return Embedder()._load()


def st_vectors(model, texts: list[str]) -> np.ndarray:
    return model.encode(texts, normalize_embeddings=True, show_progress_bar=False, batch_size=32)


@pytest.fixture
def no_install_cache(tmp_path, monkeypatch):
    """As on a machine where `make install` left no export: the first query has to make it."""
    monkeypatch.setattr(onnx_embedder, "install_cache_dir", lambda: tmp_path / "no-install-cache")


def copy_model(source: Path, dest: Path) -> Path:
    """A copy of the model folder; the weights are linked, not copied (90 MB)."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("model.safetensors"))
    (dest / "model.safetensors").symlink_to(source / "model.safetensors")
    return dest


def test_query_vectors_match_sentence_transformers_on_the_question_set(reference, tmp_path):
    questions = eval_questions()
    assert len(questions) >= 40
    embedder = Embedder(cache_dir=tmp_path / "models")
    assert embedder.onnx_encoder() is not None  # the ONNX path, not the fallback
    ours = np.array([embedder.embed_query(q) for q in questions], dtype=np.float32)
    theirs = st_vectors(reference, questions)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 1 - MAX_COSINE_GAP, questions[int(cosines.argmin())]
    # Texts past the model's 256 tokens are cut where sentence-transformers cuts them.
    long_text = " ".join(questions) * 3
    assert float(np.dot(embedder.embed_query(long_text), st_vectors(reference, [long_text])[0])) >= 1 - MAX_COSINE_GAP
    # Batches (ingest) too: sorted by length, padded per batch, and put back in order.
    texts = questions + [long_text, "", "  Japan  "]
    batch = np.array(embedder.embed_documents(texts), dtype=np.float32)
    assert (batch * st_vectors(reference, texts)).sum(axis=1).min() >= 1 - MAX_COSINE_GAP


def test_queries_and_batches_are_embedded_without_importing_torch(tmp_path):
    code = (
        "import sys\n"
        "from retrieval.embedder import Embedder\n"
        f"embedder = Embedder(cache_dir={str(tmp_path / 'models')!r})\n"
        "vector = embedder.embed_query('Who holds the most Treasurys?')\n"
        "assert len(embedder.embed_documents(['Japan sold bills.', 'China held notes.'])) == 2\n"
        "print(len(vector), sorted(m for m in ('torch', 'sentence_transformers', 'transformers', 'langchain_core')"
        " if m in sys.modules))\n"
    )
    # The install-time export from `make install` is there: nothing has to be exported.
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "384 []"


def test_the_batch_session_opens_the_checked_export_without_checking_it_again(tmp_path, monkeypatch):
    embedder = Embedder(cache_dir=tmp_path / "models")
    query = np.array(embedder.embed_query("Japan sold bills."), dtype=np.float32)
    checks = []
    check = onnx_embedder._valid
    monkeypatch.setattr(onnx_embedder, "_valid", lambda *args: checks.append(args) or check(*args))
    batch = np.array(embedder.embed_documents(["Japan sold bills.", "China held notes."]), dtype=np.float32)
    embedder.embed_documents(["Belgium is a custody centre."])
    assert checks == []  # the export was validated once, when the query encoder loaded it
    assert (embedder._onnx_batch.threads, embedder.onnx_encoder().threads) == (BATCH_THREADS, 1)
    assert float(query @ batch[0]) >= 1 - MAX_COSINE_GAP


def test_the_first_query_exports_the_model_and_a_damaged_export_is_made_again(
        reference, tmp_path, no_install_cache, caplog):
    cache = tmp_path / "models"
    question = "Did Japan sell Treasurys to defend the yen?"
    expected = st_vectors(reference, [question])[0]

    first = Embedder(cache_dir=cache)
    assert np.dot(first.embed_query(question), expected) >= 1 - MAX_COSINE_GAP
    exported = list(cache.glob("*/model.onnx"))
    assert len(exported) == 1
    assert not list(cache.glob(".*"))  # no half-written folder left beside it

    # Flip bytes in the middle of the weights: still a readable file of the right size.
    data = bytearray(exported[0].read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4096] = bytes(4096)
    exported[0].write_bytes(bytes(data))
    caplog.set_level(logging.WARNING)
    second = Embedder(cache_dir=cache)  # as a new process would
    assert np.dot(second.embed_query(question), expected) >= 1 - MAX_COSINE_GAP
    assert any("is unusable" in r.getMessage() for r in caplog.records)
    assert exported[0].read_bytes()[middle:middle + 4096] != bytes(4096)  # exported again, whole


def test_another_sentence_transformers_model_goes_through_the_same_export(tmp_path, no_install_cache):
    """DESK_EMBED_MODEL pointing at a model that pools differently: CLS instead of the mean."""
    from sentence_transformers import SentenceTransformer

    model = copy_model(Path(bundled_model_path()), tmp_path / "cls-model")
    pooling = json.loads((model / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    (model / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    texts = eval_questions()[:12]

    embedder = Embedder(str(model), cache_dir=tmp_path / "models")
    assert embedder.onnx_encoder() is not None
    ours = np.array([embedder.embed_query(t) for t in texts])
    theirs = st_vectors(SentenceTransformer(str(model), device="cpu"), texts)
    assert (ours * theirs).sum(axis=1).min() >= 1 - MAX_COSINE_GAP
    # Not the bundled model's vectors: the pooling config was followed.
    bundled = st_vectors(Embedder()._load(), texts)
    assert (ours * bundled).sum(axis=1).max() < 0.99


def test_a_model_the_export_cannot_take_runs_through_sentence_transformers_with_a_log_line(
        reference, tmp_path, no_install_cache, caplog):
    # Without tokenizer.json sentence-transformers builds its tokenizer from vocab.txt; the ONNX
    # path runs only the model's own tokenizers file, so it steps aside.
    model = copy_model(Path(bundled_model_path()), tmp_path / "vocab-only")
    (model / "tokenizer.json").unlink()
    caplog.set_level(logging.WARNING)
    embedder = Embedder(str(model), cache_dir=tmp_path / "models")
    question = "How much did China hold in March 2025?"
    vector = embedder.embed_query(question)
    assert embedder.onnx_encoder() is None
    lines = [r.getMessage() for r in caplog.records if "queries use sentence-transformers" in r.getMessage()]
    assert len(lines) == 1 and "no tokenizer.json" in lines[0]
    assert np.dot(vector, st_vectors(reference, [question])[0]) >= 1 - MAX_COSINE_GAP
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").glob("*/model.onnx"))
