"""The sentence-transformers model run through onnxruntime, so embedding a query needs no torch.

`import sentence_transformers` costs 8-9 s (torch, transformers); a new `desk ask` spent nearly
all its time on it to embed one short question. Here the model's transformer is exported once
to ONNX (fp32, from the model's own weights, with torch), cached under a key that hashes the
model's files, and afterwards run with onnxruntime and the model's own `tokenizers` tokenizer.
Pooling and normalisation follow the model's modules.json and pooling config, as
sentence-transformers applies them; a model with other modules (a Dense layer, say) is not
exported and the caller falls back to sentence-transformers.

Cache layout: DIR/<key>/{model.onnx, manifest.json}. The folder is written beside, then renamed
into place, so no reader sees half an export. The manifest carries the file's size, time and
sha256 and a probe sentence's vector as sentence-transformers computed it: a cached export that
was written since (and hashes differently), fails to load or no longer gives the probe's vector
is exported again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from retrieval.embedder import offline

log = logging.getLogger(__name__)

FORMAT = 2  # bump when the export or the manifest changes: older caches are then ignored
PROBE = "Who holds the most U.S. Treasurys, and how did Japan's holdings change in March 2025?"
PROBE_MIN_COSINE = 1 - 1e-5
# Small model files whose content decides the vectors; the weights are hashed too.
_MODEL_FILES = (
    "config.json",
    "modules.json",
    "sentence_bert_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
_POOLING = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
}
_ST = "sentence_transformers.models."
_export_lock = threading.Lock()


class NotExportable(Exception):
    """This model cannot go through the ONNX path; sentence-transformers has to run it."""


def install_cache_dir() -> Path:
    """Where `make install` leaves an export, inside the virtualenv; read before the data cache."""
    return Path(sys.prefix) / "share" / "holdings-desk" / "models"


# -- what the model is ---------------------------------------------------------------------------


def model_spec(path: Path) -> dict:
    """What the ONNX path must reproduce: max length, lower-casing, pooling, normalisation."""
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotExportable(f"no readable modules.json in {path}: {exc}") from None
    if not (path / "tokenizer.json").is_file():
        raise NotExportable(f"no tokenizer.json in {path}")
    types = [m.get("type", "").replace(_ST, "").rsplit(".", 1)[-1] for m in modules]
    if types[:2] != ["Transformer", "Pooling"] or types[2:] not in ([], ["Normalize"]) or modules[0].get("path"):
        raise NotExportable(f"modules {types} (only Transformer, Pooling and an optional Normalize are exported)")
    try:
        bert = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
        pooling_config = json.loads((path / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotExportable(f"unreadable model config in {path}: {exc}") from None
    mode = pooling_config.get("pooling_mode")
    if mode is None:
        modes = [name for key, name in _POOLING.items() if pooling_config.get(key)]
        unknown = [k for k, v in pooling_config.items() if k.startswith("pooling_mode_") and v and k not in _POOLING]
        mode = modes[0] if len(modes) == 1 and not unknown else (modes or ["mean"]) if not unknown else unknown
    if isinstance(mode, list) and len(mode) == 1:
        mode = mode[0]
    if mode not in ("cls", "max", "mean", "mean_sqrt_len_tokens"):
        raise NotExportable(f"pooling {mode!r}")
    return {
        "max_seq_length": int(bert.get("max_seq_length") or 512),
        "do_lower_case": bool(bert.get("do_lower_case")),
        "pooling": mode,
        "normalize": types[2:] == ["Normalize"],
    }


def _files(path: Path) -> list[Path]:
    files = [path / name for name in _MODEL_FILES + _WEIGHTS if (path / name).is_file()]
    files += sorted(p for p in path.glob("*_*/config.json"))  # pooling and the like
    if not any(f.name in _WEIGHTS for f in files):
        raise NotExportable(f"no model.safetensors or pytorch_model.bin in {path}")
    return files


def model_key(path: Path, memo_dirs: Sequence[Path] = ()) -> str:
    """A hash of the model's files' contents (90 MB for MiniLM: about 0.2 s).

    Remembered under memo_dirs (read from any, written to the last) by the files' sizes and
    modification times, so a process that starts does not read the weights again."""
    files = _files(path)
    stats = hashlib.sha256(str(FORMAT).encode())
    for f in files:
        st = f.stat()
        stats.update(f"{f.relative_to(path)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    memos = [folder / "keys" / stats.hexdigest()[:32] for folder in memo_dirs]
    for memo in memos:
        try:
            key = memo.read_text(encoding="ascii").strip()
            if len(key) == 24:
                return key
        except OSError:
            pass
    digest = hashlib.sha256(str(FORMAT).encode())
    for f in files:
        digest.update(f"{f.relative_to(path)}\0".encode())
        with open(f, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    key = digest.hexdigest()[:24]
    if memos:
        try:
            _write_atomically(memos[-1], key.encode())
        except OSError:
            pass  # only costs the next process another hash
    return key


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# -- running it -----------------------------------------------------------------------------------


class OnnxEncoder:
    """One onnxruntime session over an exported model, with the model's tokenizer and pooling."""

    def __init__(self, folder: Path, model_path: Path, spec: dict, threads: int = 1):
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        # One thread: with another process busy on one of two cores, a query took 500 ms at two
        # threads and 35 ms at one (DESIGN.md). Batches get their own session with more.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        # tokenizer.json carries its own settings (MiniLM's: truncate at 128, pad to 128);
        # sentence-transformers truncates at max_seq_length and pads to the longest text.
        self.tokenizer.enable_truncation(spec["max_seq_length"])
        # Padding is done per batch in _run, to the batch's longest text.
        self.pad_id = int((self.tokenizer.padding or {}).get("pad_id") or 0)
        self.tokenizer.no_padding()
        self.folder, self.model_path = folder, model_path
        self.spec = spec
        self.threads = threads
        self.dimensions = int(self.session.get_outputs()[0].shape[-1])

    def with_threads(self, threads: int) -> OnnxEncoder:
        """Another session over the same export at another thread count. The export was checked
        when this encoder was loaded (load_encoder), so it is not checked again."""
        return OnnxEncoder(self.folder, self.model_path, self.spec, threads)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Normalised sentence vectors, float32, in the order of `texts`."""
        if self.spec["do_lower_case"]:
            texts = [t.lower() for t in texts]
        encodings = [self.tokenizer.encode(texts[0])] if len(texts) == 1 else self.tokenizer.encode_batch(list(texts))
        # Like sentence-transformers: longest first, so each batch pads little.
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            chosen = order[start : start + batch_size]
            out[chosen] = self._run([encodings[i] for i in chosen])
        return out

    def _run(self, encodings) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        for row, e in enumerate(encodings):  # right padding, as sentence-transformers pads
            n = len(e.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = e.ids, e.attention_mask, e.type_ids
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = types
        tokens = self.session.run(None, feed)[0]
        return _pool(tokens, mask, self.spec["pooling"], normalize=True)


def _pool(tokens: np.ndarray, mask: np.ndarray, mode: str, normalize: bool) -> np.ndarray:
    """sentence-transformers' Pooling on right-padded batches, then its L2 normalisation.

    Normalised always: the project stores and queries normalised vectors whether or not the
    model ends in a Normalize module (it passes normalize_embeddings=True)."""
    m = mask[..., None].astype(np.float32)
    if mode == "cls":
        vectors = tokens[:, 0]
    elif mode == "max":
        vectors = np.where(m > 0, tokens, -np.inf).max(axis=1)
    else:
        total = (tokens * m).sum(axis=1)
        count = np.clip(m.sum(axis=1), 1e-9, None)
        vectors = total / (count if mode == "mean" else np.sqrt(count))
    vectors = vectors.astype(np.float32)
    if normalize:
        vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    return vectors


# -- the cache ------------------------------------------------------------------------------------


def _valid(folder: Path, key: str, model_path: Path, spec: dict, threads: int) -> OnnxEncoder | None:
    """The cached export as an encoder, or None when absent or damaged (then it is rebuilt)."""
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT or manifest.get("key") != key:
            raise ValueError("written for another model or format")
        st = (folder / "model.onnx").stat()
        if st.st_size != manifest["size"]:
            raise ValueError("model.onnx has the wrong size")
        # Hashing 90 MB costs ~0.1 s: done only when the file was written since the export.
        if st.st_mtime_ns != manifest["mtime_ns"] and _sha256(folder / "model.onnx") != manifest["sha256"]:
            raise ValueError("model.onnx differs from what was exported")
        encoder = OnnxEncoder(folder, model_path, spec, threads)
        probe = encoder.encode([manifest["probe_text"]])[0]
        cosine = float(probe @ np.asarray(manifest["probe_vector"], dtype=np.float32))
        if cosine < PROBE_MIN_COSINE:
            raise ValueError(f"probe vector differs (cosine {cosine:.6f})")
        return encoder
    except Exception as exc:  # a damaged cache is never fatal: it is exported again
        log.warning("ONNX model cache %s is unusable (%s): exporting the model again", folder, exc)
        return None


def load_encoder(model_path: Path, cache_dirs: list[Path], threads: int = 1) -> OnnxEncoder:
    """An encoder over the cached export of this model, exporting it into the last of
    `cache_dirs` when none of them holds a valid one. Raises NotExportable."""
    spec = model_spec(model_path)
    writable = cache_dirs[-1]
    key = model_key(model_path, cache_dirs)
    for cache in cache_dirs:
        encoder = _valid(cache / key, key, model_path, spec, threads)
        if encoder is not None:
            return encoder
    with _export_lock:  # one export per process; other processes race harmlessly (atomic rename)
        encoder = _valid(writable / key, key, model_path, spec, threads)
        if encoder is None:
            export(model_path, writable / key, key, spec)
            encoder = _valid(writable / key, key, model_path, spec, threads)
        if encoder is None:
            raise NotExportable(f"the export in {writable / key} does not reproduce the model's vectors")
        return encoder


def export(model_path: Path, dest: Path, key: str, spec: dict) -> None:
    """Export the transformer to ONNX from the model's own weights (needs torch, once).

    Checked before it is published: the probe's vector from onnxruntime must match
    sentence-transformers' own."""
    import time

    started = time.perf_counter()
    log.warning("exporting the embedding model %s to ONNX once (cached in %s)", model_path, dest.parent)
    offline()
    import warnings

    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel

    reference = SentenceTransformer(str(model_path), device="cpu")
    probe_vector = reference.encode([PROBE], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)[
        0
    ]
    del reference
    # Eager attention: the SDPA path may drop an all-ones mask while tracing, which would bake
    # "no padding" into the graph and spoil every padded batch.
    model = AutoModel.from_pretrained(str(model_path), attn_implementation="eager").eval()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    os.chmod(tmp, 0o755)  # mkdtemp's 0700 would hide an install-time export from other users
    try:
        wrapper = _TransformerOnly(model)
        sample = ["a short one", "a longer sentence, so that the batch is padded"]
        batch = _tokenize_for_export(model_path, spec, sample)
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in batch]
        wrapper.names = names
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper,
                tuple(torch.from_numpy(batch[n]) for n in names),
                str(tmp / "model.onnx"),
                input_names=names,
                output_names=["token_embeddings"],
                opset_version=17,
                dynamo=False,
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names + ["token_embeddings"]},
            )
        written = (tmp / "model.onnx").stat()
        manifest = {
            "format": FORMAT,
            "key": key,
            "model": str(model_path),
            "spec": spec,
            "size": written.st_size,
            "mtime_ns": written.st_mtime_ns,
            "sha256": _sha256(tmp / "model.onnx"),
            "probe_text": PROBE,
            "probe_vector": [float(x) for x in probe_vector],
            "torch": torch.__version__,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        if dest.exists():  # a damaged export: set it aside before the new one takes its name
            stale = dest.with_name(f".{dest.name}.stale.{os.getpid()}")
            os.replace(dest, stale)
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.replace(tmp, dest)
        except OSError:
            if not dest.exists():
                raise  # else another process published the same export first: keep theirs
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.warning("exported the embedding model in %.1f s", time.perf_counter() - started)


def _tokenize_for_export(model_path: Path, spec: dict, texts: list[str]) -> dict:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    tokenizer.enable_truncation(spec["max_seq_length"])
    tokenizer.enable_padding(pad_id=int((tokenizer.padding or {}).get("pad_id") or 0))
    encodings = tokenizer.encode_batch(texts)
    batch = {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
    }
    config = json.loads((model_path / "config.json").read_text(encoding="utf-8"))
    if config.get("type_vocab_size", 0) > 0:
        batch["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
    return batch


def _transformer_only_class():
    import torch

    class TransformerOnly(torch.nn.Module):
        """The model's token embeddings from named inputs (transformers 5 takes keywords only)."""

        def __init__(self, model):
            super().__init__()
            self.model = model
            self.names: list[str] = []

        def forward(self, *inputs):
            return self.model(**dict(zip(self.names, inputs))).last_hidden_state

    return TransformerOnly


def _TransformerOnly(model):
    return _transformer_only_class()(model)


def main(argv: list[str] | None = None) -> int:
    """`python -m retrieval.onnx_embedder`: export the bundled model into the virtualenv
    (`make install` runs it, so no later command pays for the export)."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    from retrieval.embedder import bundled_model_path

    path = Path(argv[0] if argv else bundled_model_path())
    encoder = load_encoder(path, [install_cache_dir()])
    keep = model_key(path, [install_cache_dir()])
    for old in install_cache_dir().iterdir():  # exports of an earlier format or model version
        if old.is_dir() and old.name not in (keep, "keys"):
            shutil.rmtree(old, ignore_errors=True)
    print(f"ONNX export of {path} ready ({encoder.encode(['ok']).shape[1]} dimensions) in {install_cache_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
