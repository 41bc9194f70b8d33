"""The speech bank: recorded people's speech, shipped as embedding frames, that every wake name is checked on."""

import numpy as np
import pytest

from audiolib import synth
from earmuff.audio.files import read_audio
from earmuff.config import Config
from earmuff.wakeword.train import features, speech_bank, trainer

pytestmark = pytest.mark.unit


def test_the_shipped_bank_holds_hours_of_speech_in_two_halves():
    bank = speech_bank.load(speech_bank.default_path())
    assert bank.held_hours > 1.0  # enough that 0.5 false accepts an hour means something
    assert len(bank.fit) >= 50 and len(bank.held) >= 50
    frames = np.concatenate(bank.held[:5]).astype(np.float32)
    assert frames.shape[1] == features.EMBED_DIM and frames.std(axis=0).min() > 0.5  # speech, not one repeated frame


def test_frames_survive_saving_within_a_tenth_of_their_spread(tmp_path):
    texts = ["turn the radio down", "what a lovely day", "see you at seven", "where are my keys"]
    clips = [read_audio(synth(tmp_path / f"{i}.wav", t)) for i, t in enumerate(texts)]
    streams = speech_bank.build(clips, Config(), seed=1, per_stream=1)
    assert len(streams) == 4 and all(len(s) > features.WINDOW for s in streams)
    speech_bank.save(tmp_path / "bank.npz", streams)
    bank = speech_bank.load(tmp_path / "bank.npz")
    np.testing.assert_allclose(
        np.concatenate([*bank.fit, *bank.held]),
        np.concatenate(streams[0::2] + streams[1::2]),
        atol=0.1 * float(np.concatenate(streams).astype(np.float32).std()),
    )
    assert bank.held_hours == pytest.approx(sum(len(s) for s in streams[1::2]) * 0.08 / 3600)
    first = np.zeros((20, features.EMBED_DIM), np.float16)
    joined = bank.held.after([first])  # a training's own held-back streams, then the bank's
    assert len(joined) == 3 and joined[0] is first and joined[-1].shape == streams[3].shape
    with pytest.raises(IndexError):
        joined[3]


@pytest.mark.parametrize("content", [None, b"not a numpy archive", b"PK\x03\x04 a zip cut short"])
def test_a_missing_or_broken_bank_names_the_file_and_the_fix(tmp_path, content):
    path = tmp_path / "speech_bank.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(speech_bank.SpeechBankError, match=r"speech_bank\.npz.*scripts/make_speech_bank\.py"):
        speech_bank.load(path)


def test_training_stops_at_once_without_its_bank(tmp_path, monkeypatch):
    monkeypatch.setattr(speech_bank, "default_path", lambda: tmp_path / "gone.npz")
    cfg = Config()
    with pytest.raises(speech_bank.SpeechBankError, match="gone.npz"):
        trainer.train(trainer.options_from(cfg, "hey bramble", "en-us", quiet=True), cfg)
