"""Dense text embedders that load offline.

The default, :class:`WordLlamaEmbedder`, reads the static token embeddings that ship inside the
``wordllama`` wheel (``l2_supercat_256``) straight from the package folder, so it never touches the
network (``WordLlama.load()`` looks for its tokenizer in the wrong folder and tries to download it),
and without importing the package itself, whose ``__init__`` costs every run's start 0.3 s.
:class:`SentenceTransformerEmbedder` wraps any sentence-transformers model path, for users who have
one; it needs torch and is never the default.
"""
from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalized float32 vectors of a fixed dimension."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


_WEIGHTS = ("weights", "l2_supercat_256.safetensors")  # inside the wordllama package's folder
_TOKENIZER = ("tokenizers", "l2_supercat_tokenizer_config.json")
# The key (:meth:`WordLlamaEmbedder.key`) of the files storyline's models were trained with: the
# same in wordllama 0.3.7 to 0.4.0.post1 (the tokenizer file's bytes differ, its token ids do not).
TRAINED_KEY = "df2af3bb7b715973"
_PROBE = "Zürich's 3 ferries ran 20 minutes late on Tuesday; «naïve» façades — and O'Neill's kiosk — stayed closed."
log = logging.getLogger("storyline.embed")


def _package_file(parts: tuple[str, str]) -> str:
    return str(_package_folder().joinpath(*parts))


def _package_folder() -> Path:
    """The installed ``wordllama`` package's folder, found without importing the package (its
    ``__init__`` imports requests and pydantic: 0.3 s of every ingest's start, for nothing used)."""
    from importlib.util import find_spec

    spec = find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the wordllama package is not installed (pip install wordllama)", name="wordllama")
    return Path(next(iter(spec.submodule_search_locations)))


def _table(dim: int) -> np.ndarray:
    from safetensors import safe_open

    with safe_open(_package_file(_WEIGHTS), framework="np") as f:
        return f.get_tensor("embedding.weight")[:, :dim]


@lru_cache(maxsize=2)
def _wordllama(dim: int) -> Any:
    """WordLlama's own inference class (its ``embed`` is the reference the tests compare with)."""
    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference

    return WordLlamaInference(_table(dim), Tokenizer.from_file(_package_file(_TOKENIZER)))


@lru_cache(maxsize=2)
def _model(dim: int) -> tuple[np.ndarray, Any]:
    """The token vectors (float32, contiguous, as WordLlama's inference class keeps them) and the
    tokenizer without padding or truncation, read from the package's files."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(_package_file(_TOKENIZER))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return np.ascontiguousarray(_table(dim).astype(np.float32)), tokenizer


@lru_cache(maxsize=2)
def _key(dim: int) -> str:
    """A hash of the token table's first ``dim`` columns as stored (float16) and of the token ids
    of a fixed text: what the vectors depend on, exactly (no float arithmetic), in 0.03 s."""
    table, tokenizer = _table(dim), _model(dim)[1]
    digest = hashlib.sha256(np.ascontiguousarray(table).tobytes())
    digest.update(np.asarray(tokenizer.encode(_PROBE, add_special_tokens=False).ids, dtype="<i8").tobytes())
    key = digest.hexdigest()[:16]
    if dim == 256 and key != TRAINED_KEY:
        log.warning("the installed wordllama's token vectors are not the ones storyline's join and merge models "
                    "were trained with (key %s, trained with %s): story grouping is untested with them; "
                    "pip install wordllama==0.4.0.post1", key, TRAINED_KEY)
    return key


class WordLlamaEmbedder:
    """WordLlama's bundled static embeddings (average of token vectors), ~0.15 ms per text.

    Args:
        dim: Leading dimensions kept (Matryoshka truncation): 64, 128 or 256.
        max_chars: Texts are cut to this many characters first (the lead carries the event).
    """

    name = "wordllama-l2-supercat.v1"

    def __init__(self, *, dim: int = 256, max_chars: int = 1200) -> None:
        self.dim = dim
        self.max_chars = max_chars

    def key(self) -> str:
        """The key of the vectors this embedder makes (its token table and tokenizer), which a
        saved clusterer state records (:func:`storyline.engine.maker_of`): the installed
        ``wordllama`` may ship other files under the same name."""
        return _key(self.dim)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # WordLlama's own embed() pads a batch to its longest member; instead, one unpadded batch
        # call to the Rust tokenizer (it uses every core; the fast call skips the offsets, same
        # ids), then the mean of each text's token vectors exactly as WordLlamaInference.avg_pool
        # computes it (same bits), 2x faster.
        table, tokenizer = _model(self.dim)
        top = table.shape[0] - 1
        encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)  # tokenizers >= 0.20
        for i, enc in enumerate(encode([t[: self.max_chars] for t in texts], add_special_tokens=False)):
            ids = np.asarray(enc.ids, dtype=np.int32)
            if len(ids):
                np.clip(ids, 0, top, out=ids)
                out[i] = np.sum(table[ids][None], axis=1, dtype=np.float32)[0] / np.float32(len(ids))
        return _normalize(out)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by path or name (needs torch; opt-in only)."""

    def __init__(self, model: str, *, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer

        self.model_ = SentenceTransformer(model, device=device)
        self.name = f"sentence-transformers:{Path(model).name}"
        dimension = getattr(self.model_, "get_embedding_dimension", None) or self.model_.get_sentence_embedding_dimension
        self.dim = int(dimension() or 0)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model_.encode(list(texts), batch_size=64, show_progress_bar=False)
        return _normalize(np.asarray(vectors))


def make_embedder(spec: str = "") -> Embedder:
    """The embedder named by ``Settings.embedder``: empty for the built-in static one, else a
    sentence-transformers model path or name."""
    if not spec or spec in ("wordllama", WordLlamaEmbedder.name):
        return WordLlamaEmbedder()
    return SentenceTransformerEmbedder(spec)


__all__ = ["Embedder", "WordLlamaEmbedder", "SentenceTransformerEmbedder", "make_embedder"]
