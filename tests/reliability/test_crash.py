"""Crash safety of the ingest: SIGKILL at random moments, and a crash at every write point.

After a killed ingest is run again, the store must hold every document exactly once (the same
document records and the same chunk ids as an uninterrupted ingest), no orphan chunks, no
write left half-finished, and the same answers to the same questions.

Two ways of crashing:
- a real process killed with SIGKILL at a random moment (seeded, one moment per slice of the
  ingest's duration, so the kills spread over the whole run); the ingest is a separate process
  forked from tests/reliability/ingest_child.py, writing to embedded Chroma on disk;
- in-process, an exception thrown at the N-th Chroma write, for every N: the narrow windows
  (between a document's record and the deletion of its older chunks) that random kills rarely hit.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
from pathlib import Path

import pytest

from ingest import pipeline
from ingest.pipeline import Ingester
from retrieval.answer import AnswerEngine
from retrieval.settings import RetrievalSettings
from retrieval.store import PENDING, KnowledgeBase
from tests.conftest import SAMPLE_DIR
from tests.reliability.conftest import write_corpus

DOCS = 12
CHANGED = set(range(0, DOCS, 3))  # the documents an "update" run rewrites
QUESTIONS = [
    "What does the aardvark memo say about Belgium?",
    "Why did the heron desk say Canada moved?",
    "What did the jackal desk recheck?",
    "Who holds the most Treasurys?",
    "How much did Japan hold in March 2026?",
]
SEED = 20260509


def open_kb(data_dir: Path, embedder) -> KnowledgeBase:
    return KnowledgeBase(RetrievalSettings(data_dir=data_dir, _env_file=None), embedder=embedder)


def snapshot(kb: KnowledgeBase) -> dict:
    """What must match an uninterrupted ingest: records (id -> hash, chunk count) and chunk ids."""
    docs = kb.list_documents()
    chunk_ids = [cid for cid, _, _ in kb.iter_chunks(with_text=False)]
    return {
        "docs": sorted((d["id"], d["content_hash"], d["chunks"]) for d in docs),
        "chunk_ids": sorted(chunk_ids),
        "pending": sorted(d["id"] for d in docs if d.get(PENDING)),
    }


def answers(kb: KnowledgeBase) -> list[tuple]:
    engine = AnswerEngine(kb)
    out = []
    for question in QUESTIONS:
        answer = engine.ask(question)
        out.append((answer.text, answer.route, answer.refused, [(c.title, c.ref) for c in answer.citations]))
    return out


def committed_counts_are_whole(kb: KnowledgeBase) -> None:
    """Even before the re-run: each committed record has all its chunks (readers see whole documents)."""
    counts: dict[tuple[str, str], int] = {}
    for meta in kb.iter_chunk_metas():
        key = (meta["doc_id"], meta["content_hash"])
        counts[key] = counts.get(key, 0) + 1
    for doc in kb.list_documents():
        assert counts.get((doc["id"], doc["content_hash"]), 0) == doc["chunks"], doc["id"]


@pytest.fixture(scope="module")
def crash_world(tmp_path_factory, ingest_runner, embedder):
    """Corpus v1 and v2 (a third of the briefs rewritten) plus the sample table; the stores an
    uninterrupted ingest gives, their answers, and how long each ingest takes."""
    root = tmp_path_factory.mktemp("crash")
    v1 = write_corpus(root / "v1", DOCS)
    v2 = write_corpus(root / "v2", DOCS, version=2, changed=CHANGED)
    for corpus in (v1, v2):
        shutil.copy(SAMPLE_DIR / "holdings" / "table5_sample.txt", corpus / "table5_sample.txt")

    def timed_ingest(data_dir: Path, corpus: Path) -> float:
        pid = ingest_runner.start(data_dir=str(data_dir), inputs=[str(corpus)])
        done = ingest_runner.expect("done")
        assert done["pid"] == pid and done["failed"] == 0, done
        ingest_runner.expect("exited")
        return done["seconds"]

    fresh_seconds = timed_ingest(root / "store-v1", v1)
    shutil.copytree(root / "store-v1", root / "store-v2")
    update_seconds = timed_ingest(root / "store-v2", v2)
    expected = {}
    for kind, store in (("fresh", root / "store-v1"), ("update", root / "store-v2")):
        kb = open_kb(store, embedder)
        expected[kind] = (snapshot(kb), answers(kb))
        assert expected[kind][0]["pending"] == [] and kb.orphan_chunk_count() == 0
    # the update run did replace the changed briefs
    assert expected["fresh"][0]["docs"] != expected["update"][0]["docs"]
    return {"root": root, "v1": v1, "v2": v2, "seconds": {"fresh": fresh_seconds, "update": update_seconds},
            "expected": expected}


def kill_trials(crash_world, ingest_runner, embedder, trials: int, tag: str) -> list[dict]:
    rng = random.Random(SEED + trials)
    root = crash_world["root"]
    results = []
    for i in range(trials):
        kind = "fresh" if i % 2 == 0 else "update"
        data_dir = root / f"{tag}-{i}"
        if kind == "update":
            shutil.copytree(root / "store-v1", data_dir)
        corpus = crash_world["v1"] if kind == "fresh" else crash_world["v2"]
        # Stratified: trial i dies somewhere in its own slice of the ingest's duration.
        slice_ = i // 2
        slices = (trials + 1) // 2 if kind == "fresh" else trials // 2
        at = crash_world["seconds"][kind] * (slice_ + rng.random()) / max(1, slices)
        pid = ingest_runner.start(data_dir=str(data_dir), inputs=[str(corpus)])
        time.sleep(at)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # it finished (and was reaped) before its moment came: counted as not killed
        exited = ingest_runner.expect("exited")
        assert exited["pid"] == pid
        killed = exited["signal"] == signal.SIGKILL

        kb = open_kb(data_dir, embedder)
        committed_counts_are_whole(kb)
        before = snapshot(kb)
        orphans_before = kb.orphan_chunk_count()
        report = Ingester(kb).ingest([str(corpus)])
        assert report.failed == 0, report.errors
        after = snapshot(kb)
        expected_snapshot, expected_answers = crash_world["expected"][kind]
        result = {"trial": i, "kind": kind, "kill_at_s": round(at, 2), "killed": killed,
                  "docs_committed_at_kill": len(before["docs"]), "pending_at_kill": len(before["pending"]),
                  "orphans_at_kill": orphans_before, "rerun_added": report.added + report.updated}
        results.append(result)
        assert after == expected_snapshot, result  # every document once, the same chunks, nothing pending
        assert kb.orphan_chunk_count() == 0, result
        assert answers(kb) == expected_answers, result
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"\nSIGKILL trials (uninterrupted ingest: {crash_world['seconds']}):")
    for r in results:
        print("  ", r)
    return results


def test_three_sigkills_during_ingest_then_rerun_gives_the_uninterrupted_store(crash_world, ingest_runner, embedder):
    results = kill_trials(crash_world, ingest_runner, embedder, trials=3, tag="ci")
    assert sum(r["killed"] for r in results) >= 2  # the kills landed inside the ingest, not after it


@pytest.mark.soak
def test_twenty_sigkills_during_ingest_then_rerun_gives_the_uninterrupted_store(crash_world, ingest_runner, embedder):
    results = kill_trials(crash_world, ingest_runner, embedder, trials=20, tag="soak")
    assert len({r["kill_at_s"] for r in results}) == 20
    assert sum(r["killed"] for r in results) >= 18


# -- a crash at every write point, in-process ------------------------------------------------------

class Crash(BaseException):
    """Not an Exception: nothing in the ingest may catch it, as nothing catches SIGKILL."""


@pytest.mark.parametrize("batch_chunks, writes_expected", [(128, 8), (1, 13)], ids=["one-batch", "per-document"])
def test_a_crash_at_every_chroma_write_then_rerun_is_whole(tmp_path, embedder, monkeypatch, batch_chunks, writes_expected):
    """An update and a new document: written together (five writes) or one at a time (ten); the
    unchanged document, read from its new folder, takes its new ref first (three writes)."""
    monkeypatch.setattr(pipeline, "EMBED_BATCH_CHUNKS", batch_chunks)
    corpus_v1 = write_corpus(tmp_path / "v1", 2)
    corpus_v2 = write_corpus(tmp_path / "v2", 3, version=2, changed={0})  # one update, one unchanged, one new
    template = tmp_path / "template"
    Ingester(open_kb(template, embedder)).ingest([str(corpus_v1)])

    collection_type = type(open_kb(template, embedder).chunks())
    writes = {"count": 0, "crash_at": None}
    for name in ("upsert", "add", "update", "delete"):
        original = getattr(collection_type, name)

        def wrapper(self, *args, _original=original, **kwargs):
            writes["count"] += 1
            if writes["count"] == writes["crash_at"]:
                raise Crash(f"crash before write {writes['count']}")
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(collection_type, name, wrapper)

    # uninterrupted: the store and the number of writes it takes
    shutil.copytree(template, tmp_path / "clean")
    writes["count"] = 0
    clean = open_kb(tmp_path / "clean", embedder)
    Ingester(clean).ingest([str(corpus_v2)])
    total, expected = writes["count"], snapshot(clean)
    assert total == writes_expected and expected["pending"] == []

    for n in range(1, total + 1):
        data_dir = tmp_path / f"crash-{n}"
        shutil.copytree(template, data_dir)
        writes["count"], writes["crash_at"] = 0, n
        with pytest.raises(Crash):
            Ingester(open_kb(data_dir, embedder)).ingest([str(corpus_v2)])
        writes["crash_at"] = None
        kb = open_kb(data_dir, embedder)
        committed_counts_are_whole(kb)
        report = Ingester(kb).ingest([str(corpus_v2)])
        assert report.failed == 0
        assert snapshot(kb) == expected, f"crash before write {n} of {total}"
        assert kb.orphan_chunk_count() == 0, f"crash before write {n} of {total}"
