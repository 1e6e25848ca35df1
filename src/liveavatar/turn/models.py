"""The two ONNX models of smart turn detection, loaded from the installed `pipecat-ai`
package (its wheel ships them; nothing is downloaded at run time): Silero VAD (MIT) for
voice activity and smart-turn v3.2 (BSD 2-Clause) for whether an utterance is complete.

The files are found through the distribution's metadata, without importing pipecat. One
`InferenceSession` per model serves every session of the process (onnxruntime's `run`
is thread-safe and releases the GIL); each audio stream keeps its own Silero state.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

import numpy as np

from liveavatar.errors import TurnDetectionUnavailable

from .features import F32, last_window, log_mel

PACKAGE = "pipecat-ai"
SMART_TURN_FILE = "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"
SILERO_FILE = "pipecat/audio/vad/data/silero_vad.onnx"
VAD_WINDOW = 512  # samples at 16 kHz (32 ms): the only window Silero takes at this rate
_VAD_CONTEXT = 64  # samples of the previous window Silero expects in front of each
MISSING = (
    "Smart turn detection needs the model files of the pipecat-ai package "
    "(pip install --no-deps -r deploy/model-packages.txt)."
)


@dataclass(frozen=True)
class ModelFiles:
    smart_turn: Path
    silero: Path


def find_model_files(package: str) -> ModelFiles:
    """The model files installed with `package` (`PACKAGE`).

    Raises:
        TurnDetectionUnavailable: the package or one of its files is missing.
    """
    try:
        dist = distribution(package)
    except PackageNotFoundError as exc:
        raise TurnDetectionUnavailable(MISSING) from exc
    files = ModelFiles(
        smart_turn=Path(str(dist.locate_file(SMART_TURN_FILE))),
        silero=Path(str(dist.locate_file(SILERO_FILE))),
    )
    if not (files.smart_turn.is_file() and files.silero.is_file()):
        raise TurnDetectionUnavailable(MISSING)
    return files


class TurnModels:
    """Both models, loaded once (`shared()`); `run` calls may come from any thread."""

    def __init__(self, files: ModelFiles) -> None:
        import onnxruntime as ort  # a heavy import, paid only where smart mode is used

        def session(path: Path) -> Any:
            opts = ort.SessionOptions()
            # One thread per call: the worker pool, not onnxruntime, spreads the sessions
            # over the cores (docs/PERFORMANCE.md).
            opts.inter_op_num_threads = 1
            opts.intra_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            return ort.InferenceSession(
                str(path), sess_options=opts, providers=["CPUExecutionProvider"]
            )

        self._smart_turn = session(files.smart_turn)
        self._silero = session(files.silero)
        self._sr = np.array(16_000, dtype=np.int64)

    def end_probability(self, audio: F32) -> float:
        """How likely the utterance (16 kHz float audio, its end last) is complete."""
        features = log_mel(last_window(audio))[np.newaxis]
        out = self._smart_turn.run(None, {"input_features": features})
        return float(np.asarray(out[0]).reshape(-1)[0])

    def speech_probability(self, window: F32, state: SileroState) -> float:
        """Silero's speech probability for one `VAD_WINDOW`; advances `state`."""
        x = np.concatenate((state.context, window))[np.newaxis]
        out, state.hidden = self._silero.run(
            None, {"input": x, "state": state.hidden, "sr": self._sr}
        )
        state.context = window[-_VAD_CONTEXT:]
        return float(np.asarray(out).reshape(-1)[0])


class SileroState:
    """One audio stream's recurrent state in Silero."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.hidden = np.zeros((2, 1, 128), dtype=np.float32)
        self.context: F32 = np.zeros(_VAD_CONTEXT, dtype=np.float32)


_lock = threading.Lock()
_shared: TurnModels | None = None


def shared() -> TurnModels:
    """The process's models, loaded on first use (about 0.3 s).

    Raises:
        TurnDetectionUnavailable: the model files are not installed.
    """
    global _shared
    with _lock:
        if _shared is None:
            _shared = TurnModels(find_model_files(PACKAGE))
        return _shared
