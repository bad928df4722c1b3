"""shared/embeddings.py against the reference implementation (transformers + torch, from the dev extras)."""

from __future__ import annotations

import numpy as np
import pytest

from shared.embeddings import SentenceEncoder, encoder, model_dir

TEXTS = ["tent", "hot chocolate", "northern lights over the glacier", "a dog on the beach", "ambience"]


def test_vectors_match_the_reference_model() -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_dir()))
    model = transformers.AutoModel.from_pretrained(str(model_dir())).eval()
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    reference = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1).numpy()
    assert np.abs(SentenceEncoder().encode(TEXTS) - reference).max() < 1e-5


def test_similar_meanings_are_close_and_vectors_are_unit_length() -> None:
    tent, camping, invoice = encoder().encode(["tent", "camping", "invoice"])
    assert np.allclose(np.linalg.norm([tent, camping, invoice], axis=1), 1, atol=1e-5)
    assert tent @ camping > tent @ invoice + 0.2
    assert encoder() is encoder()  # one model per process
