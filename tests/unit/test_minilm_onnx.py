"""The ONNX Runtime embedder: exported from the packaged weights, verified against torch, cached per machine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core import minilm_onnx
from core.minilm_onnx import EmbedderExportError, OnnxMiniLM, cached_model_path, ensure_onnx

TEXTS = ["why do requests time out?", "", "tool_error: search API 502 " * 80,  # past the 256-token limit
         "Résumé of the incident: llama-3.1-70b p95 latency x3 from 2025-03-18"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_onnx(tmp_path_factory.mktemp("models"))


def test_onnx_vectors_match_sentence_transformers(exported: Path) -> None:
    got = OnnxMiniLM(exported).encode(TEXTS)
    ref = minilm_onnx._torch_reference(TEXTS)
    assert got.shape == (len(TEXTS), 384) and got.dtype == np.float32
    assert np.abs(got - ref).max() < 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_order_and_batching_do_not_change_vectors(exported: Path) -> None:
    model = OnnxMiniLM(exported, threads=1)
    many = [f"request {i} " * (i % 13 + 1) for i in range(40)]  # several inner batches, mixed lengths
    batch = model.encode(many)
    single = np.vstack([model.encode([t]) for t in many[:5]])
    assert np.abs(batch[:5] - single).max() < 1e-5
    assert np.abs(model.encode(many[::-1])[::-1] - batch).max() < 1e-5


def test_export_is_reused_from_the_cache(exported: Path) -> None:
    stamp = exported.stat().st_mtime_ns
    assert ensure_onnx(exported.parent) == exported == cached_model_path(exported.parent)
    assert exported.stat().st_mtime_ns == stamp


def test_an_export_that_disagrees_with_torch_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = minilm_onnx._torch_reference
    monkeypatch.setattr(minilm_onnx, "_torch_reference", lambda texts: -real(texts))
    with pytest.raises(EmbedderExportError, match="differs from the torch model"):
        ensure_onnx(tmp_path)
    assert not cached_model_path(tmp_path).exists() and list(tmp_path.iterdir()) == []
