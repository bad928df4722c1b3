"""Voice activity detection: how likely each 32 ms window of a stream is speech."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Protocol

import numpy as np

WINDOW_SAMPLES = 512  # 32 ms at 16 kHz: the window Silero VAD was trained on


class VoiceDetector(Protocol):
    """One stream's detector: stateful, so each stream (mic, file) gets its own instance."""

    def speech_probabilities(self, windows: np.ndarray) -> np.ndarray:
        """(n, WINDOW_SAMPLES) float32 windows of 16 kHz audio, in stream order → n probabilities in [0, 1]."""
        ...


@functools.cache
def _silero_session():  # type: ignore[no-untyped-def]  # onnxruntime ships no type hints
    import onnxruntime

    spec = importlib.util.find_spec("faster_whisper")  # finds the package without importing it (slow)
    if spec is None or spec.origin is None:
        raise RuntimeError("the Silero VAD model ships with faster-whisper: pip install faster-whisper")
    model = Path(spec.origin).parent / "assets" / "silero_vad_v6.onnx"
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = 1  # one core per stream scales across many mics better than threads
    options.intra_op_num_threads = 1
    options.log_severity_level = 4
    return onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"], sess_options=options)


class SileroVad:
    """Silero VAD v6 through onnxruntime; the model ships inside faster-whisper, so nothing downloads.

    The model is loaded once per process and shared (onnxruntime sessions are thread-safe); the LSTM state
    and the 64-sample context carried from window to window are per instance. Feeding a stream in pieces
    gives exactly the probabilities of feeding it whole.
    """

    _CONTEXT_SAMPLES = 64

    def __init__(self) -> None:
        self._session = _silero_session()
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(self._CONTEXT_SAMPLES, dtype=np.float32)

    def speech_probabilities(self, windows: np.ndarray) -> np.ndarray:
        if windows.ndim != 2 or windows.shape[1] != WINDOW_SAMPLES:
            raise ValueError(f"expected (n, {WINDOW_SAMPLES}) windows, got shape {windows.shape}")
        if not len(windows):
            return np.zeros(0, dtype=np.float32)
        windows = windows.astype(np.float32, copy=False)
        contexts = np.concatenate([self._context[None, :], windows[:-1, -self._CONTEXT_SAMPLES:]])
        probabilities, self._h, self._c = self._session.run(
            None, {"input": np.concatenate([contexts, windows], axis=1), "h": self._h, "c": self._c})
        self._context = windows[-1, -self._CONTEXT_SAMPLES:].copy()
        return np.asarray(probabilities, dtype=np.float32).reshape(-1)
