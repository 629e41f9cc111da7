"""A forking ingest runner for the crash and concurrency tests: `python -m tests.reliability.ingest_child`.

Importing torch, sentence-transformers and chromadb costs 8-15 s, so this process pays it once
and then forks one child per job read from stdin (one JSON object a line). Each child is a real,
separate ingest process: it loads the model, opens the knowledge base itself, prints
{"event": "ready", "pid": ...}, runs `Ingester.ingest` and prints {"event": "done", ...}. The
test SIGKILLs it whenever it likes. The parent reaps each child and prints {"event": "exited"}.

Job fields: data_dir, inputs (list), chroma_url (optional), repeat (run the ingest this many
times, re-touching the files in between is the caller's business), pause (seconds to sleep
between documents: only the concurrency tests use it, to stretch an ingest out).
Nothing here is a hook inside the project: the child calls the same public API `desk ingest` does.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback


def say(**event) -> None:
    # One write per line, below PIPE_BUF: lines from parent and children never interleave.
    os.write(1, (json.dumps(event) + "\n").encode())


def run_job(job: dict) -> None:
    from pathlib import Path

    from ingest.pipeline import Ingester
    from retrieval.embedder import Embedder
    from retrieval.settings import RetrievalSettings
    from retrieval.store import KnowledgeBase

    settings = RetrievalSettings(data_dir=Path(job["data_dir"]), chroma_url=job.get("chroma_url", ""), _env_file=None)
    kb = KnowledgeBase(settings, embedder=Embedder())
    kb.embedder.embed_query("warm up")
    kb.ping()
    say(event="ready", pid=os.getpid())
    started = time.monotonic()
    ingester = Ingester(kb)
    pause = float(job.get("pause", 0))
    if pause:
        original = ingester.write_documents

        def slow_write(writes):
            written = original(writes)
            for write in writes:
                say(event="stored", pid=os.getpid(), doc_id=write.doc_id)
                time.sleep(pause)  # the ingest stays busy as long as when it wrote one document at a time
            return written

        ingester.write_documents = slow_write
    report = ingester.ingest(list(job["inputs"]))
    say(event="done", pid=os.getpid(), seconds=time.monotonic() - started, added=report.added,
        updated=report.updated, unchanged=report.unchanged, failed=report.failed, errors=report.errors)


def main() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import chromadb  # noqa: F401  (the expensive imports, paid once)
    import sentence_transformers  # noqa: F401

    import ingest.pipeline  # noqa: F401
    import retrieval.store  # noqa: F401

    say(event="imported", pid=os.getpid())
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                run_job(job)
            except BaseException:
                say(event="error", pid=os.getpid(), traceback=traceback.format_exc())
                code = 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        say(event="exited", pid=pid, signal=os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0,
            code=os.WEXITSTATUS(status) if os.WIFEXITED(status) else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
