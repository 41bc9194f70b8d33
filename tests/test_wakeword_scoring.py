"""One scoring path: an installed model's file scores windows as the fitted network does, over takes and held-back data."""

import numpy as np
import pytest

from audiolib import synth
from earmuff.audio.files import read_audio
from earmuff.wakeword.registry import store
from earmuff.wakeword.registry.export import to_onnx
from earmuff.wakeword.retrain import installed_scores
from earmuff.wakeword.train import classifier, features, scoring

pytestmark = pytest.mark.unit


def fitted(seed=0):
    """A network that fires on windows whose last frames carry a bump (the "word"), and such windows."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (600, 16, 96)).astype(np.float32)
    y = (rng.random(600) < 0.3).astype(int)
    x[y == 1, 8:, :32] += 1.0
    return classifier.fit(x, y, np.ones(len(y)), hidden=8, members=1), x, y


def test_the_installed_file_of_a_name_scores_windows_as_the_fitted_network(earmuff_home, paths):
    model, x, _ = fitted()
    assert installed_scores(paths, "hey bramble") is None  # nothing trained yet: a take is checked without a model
    version = store.new_version(paths, "hey bramble")
    to_onnx(model, version / store.MODEL, "hey bramble")
    (version / store.SIDECAR).write_text('{"phrase": "hey bramble"}')
    store.install(paths, version, "hey bramble")
    installed = installed_scores(paths, "Hey  Bramble")
    assert installed is not None
    np.testing.assert_allclose(installed(x[:40]), model.scores(x[:40]), atol=1e-5)


def test_a_take_scores_its_best_window_with_silence_around_it(tmp_path):
    model, _, _ = fitted(1)
    take = read_audio(synth(tmp_path / "s.wav", "hey bramble"))
    best = scoring.best_in_take(model.scores, take)
    padded = np.r_[np.zeros(16000, np.float32), take, np.zeros(8000, np.float32)]
    per_step = model.scores(features.windows(features.embed(padded)))
    assert best == float(per_step.max()) and 0.0 <= best <= 1.0
    assert len(features.windows(features.embed(take))) == 0  # alone, the take is shorter than one window


def test_held_back_recall_counts_a_saying_once_any_of_its_windows_fires():
    model, x, y = fitted(2)
    words, others = x[y == 1], x[y == 0]
    rng = np.random.default_rng(3)
    streams = [rng.normal(0, 1, (400, 96)).astype(np.float32) for _ in range(3)]  # plain talk: embedding frames
    hours = 3 * 400 * 0.08 / 3600
    # Each saying: two windows before the name ends, then the name; and sayings with no name in them at all.
    with_name = np.stack([others[:20], others[20:40], words[:20]], axis=1)
    without = np.stack([others[40:60], others[60:80], others[80:100]], axis=1)
    threshold, recall, false_accepts = scoring.held_back(model.scores, streams, hours, with_name, 100.0)
    assert 0.5 <= threshold <= 0.99 and false_accepts <= 100.0 * hours
    assert recall >= float(np.mean(model.scores(words[:20]) >= threshold)) > 0.8
    assert scoring.held_back(model.scores, streams, hours, without, 100.0)[1] < 0.2
    assert scoring.held_back(model.scores, streams, hours, with_name[:0], 100.0)[1] == 0.0  # none held back


def test_talk_that_sounds_like_the_name_never_costs_more_than_a_fifth_of_the_sayings():
    model, x, y = fitted(4)
    words = x[y == 1][:40]
    sayings = words[:, None]  # one window each
    rng = np.random.default_rng(5)
    talk = rng.normal(0, 1, (400, 96)).astype(np.float32)
    talk[:, :32] += 1.0  # every window of it carries the "word": no threshold keeps it quiet
    hours = 400 * 0.08 / 3600
    threshold, recall, false_accepts = scoring.held_back(model.scores, [talk], hours, sayings, 0.5)
    assert recall >= scoring.KEEP_SAYINGS and false_accepts > 0.5 * hours
    strict = classifier.pick_threshold([scoring.of_frames(model.scores, talk)], hours, 0.5)
    assert threshold < strict and np.mean(model.scores(words) >= strict) < scoring.KEEP_SAYINGS


def test_an_owners_copies_make_the_threshold_stricter_only_as_far_as_the_owner_is_still_heard():
    model, x, y = fitted(6)
    words, others = x[y == 1], x[y == 0]
    rng = np.random.default_rng(7)
    streams = [rng.normal(0, 1, (400, 96)).astype(np.float32) for _ in range(3)]
    hours = 3 * 400 * 0.08 / 3600
    sayings, owner = words[:20, None], words[20:60, None]

    def logit(p):
        return float(np.log(p / (1 - p)))

    alone = scoring.held_back(model.scores, streams, hours, sayings, 100.0)[0]
    threshold = scoring.held_back(model.scores, streams, hours, sayings, 100.0, owner)[0]
    assert alone < threshold and logit(threshold) <= logit(alone) + scoring.OWNER_MARGIN + 1e-6
    assert np.mean(model.scores(owner[:, 0]) >= threshold) >= scoring.OWNER_KEEP
    quiet_owner = others[:40, None]  # copies the model does not hear: never a looser threshold than without them
    assert scoring.held_back(model.scores, streams, hours, sayings, 100.0, quiet_owner)[0] == alone
