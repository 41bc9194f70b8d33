"""Owner takes: each bad kind is refused with its reason; a good take is kept."""

import numpy as np
import pytest

from audiolib import synth
from earmuff.audio.files import read_audio
from earmuff.wakeword.registry import samples
from earmuff.wakeword.registry.samples import SampleError, check_take

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def take(tmp_path_factory):
    folder = tmp_path_factory.mktemp("take")
    x = read_audio(synth(folder / "t.wav", "hey bramble", "flite", "slt"))
    rng = np.random.default_rng(0)
    pad = np.zeros(8000, np.float32)
    return (np.r_[pad, x, pad] * 0.3 + rng.standard_normal(len(x) + 16000) * 1e-4).astype(np.float32)


def expected():
    return samples.expected_duration("hey bramble", "en-us")


def test_good_take_is_kept(take, paths):
    got = check_take(take, "t.wav", expected())
    assert got.snr_db > 20 and 0.4 < got.speech_s < 2.0
    path = samples.save(paths, "hey bramble", take)
    assert path.exists() and len(samples.load_all(paths, "hey bramble")) == 1


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda x: np.clip(x * 30, -1, 1), "clipped"),
        (lambda x: x * 1e-4, "too quiet"),
        (lambda x: x + np.random.default_rng(1).standard_normal(len(x)).astype(np.float32) * 0.1, "too quiet"),
        (lambda x: x[int(len(x) * 0.45) :], "cut off at the start"),
        (lambda x: x[: int(len(x) * 0.55)], "cut off at the end"),
        (lambda x: np.tile(x, 6), "too long"),
        (lambda x: np.r_[x, x, x], "does not sound like the name"),
        (lambda x: x[:3000], "too short"),
    ],
)
def test_bad_takes_are_refused_with_the_reason(take, change, reason):
    with pytest.raises(SampleError, match=reason) as err:
        check_take(change(take).astype(np.float32), "owner.wav", expected())
    assert "owner.wav" in str(err.value)


def test_model_that_does_not_recognise_it_refuses(take):
    with pytest.raises(SampleError, match="the current model scores it 0.001"):
        check_take(take, "t.wav", expected(), scorer=lambda x: 0.001)


def test_saved_takes_are_private(earmuff_home, paths):
    from earmuff.wakeword.registry import samples

    path = samples.save(paths, "hey bramble", np.zeros(16000, np.float32))
    assert path.stat().st_mode & 0o777 == 0o600
