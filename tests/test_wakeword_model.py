"""Features, classifier, threshold and ONNX export: the exported file scores exactly as the fitted model."""

import numpy as np
import pytest

from audiolib import synth
from earmuff.audio.files import read_audio
from earmuff.config import FRAME, WakeConfig
from earmuff.runtime.detector import Detector
from earmuff.wakeword.registry.export import to_onnx
from earmuff.wakeword.train import classifier, features

pytestmark = pytest.mark.training


def test_long_audio_embeds_the_same_in_chunks_as_in_one_piece():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(16000 * 23) * 0.05).astype(np.float32)
    whole = features.embed(x)
    assert whole.shape[1] == 96 and len(whole) == (len(x) // 160 - 3 - 76) // 8 + 1
    part = features.embed(x[: 16000 * 4])
    np.testing.assert_allclose(whole[: len(part)], part, atol=1e-4)
    batch = features.embed_batch(np.stack([x[:34560], x[34560:69120]]))
    np.testing.assert_allclose(batch[1], features.embed(x[34560:69120]), atol=1e-4)
    assert features.windows(whole, 2).shape[1:] == (16, 96)


def separable(n, rng):
    x = rng.normal(0, 1, (n, 16, 96)).astype(np.float32)
    y = (rng.random(n) < 0.3).astype(int)
    x[y == 1, 8:, :32] += 1.0  # the "word" is in the last frames
    return x, y


def test_mlp_learns_and_calibration_moves_the_threshold_to_one_half():
    rng = np.random.default_rng(1)
    x, y = separable(1200, rng)
    model = classifier.fit(x[:800], y[:800], np.ones(800), hidden=16)
    acc = np.mean((model.scores(x[800:]) >= 0.5) == y[800:])
    assert acc > 0.95
    cal = classifier.calibrate(model, 0.9)
    raw, shifted = model.scores(x[800:]), cal.scores(x[800:])
    assert np.array_equal(raw >= 0.9, shifted >= 0.5)


def test_count_events_and_threshold_choice():
    scores = np.zeros(300)
    scores[[10, 11, 12, 100, 200]] = [0.7, 0.9, 0.7, 0.8, 0.6]
    assert classifier.count_events(scores, 0.65) == 2  # 10-12 is one event; 100 is another
    assert classifier.count_events(scores, 0.5) == 3
    # 300 frames = 24 s; allowing none picks the lowest threshold above every peak
    assert classifier.pick_threshold([scores], 24 / 3600, 0.0) == 0.91


def test_exported_onnx_scores_like_numpy_inside_the_detector(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    x, y = separable(600, rng)
    # Without input noise this toy model is sure of itself on real speech, so that its score compares features
    # (fitted with the noise, its score on this speech sits where the sigmoid is steep: 0.21 from batch features,
    # 0.97 from streaming ones).
    monkeypatch.setattr(classifier, "INPUT_NOISE", 0.0)
    model = classifier.fit(x, y, np.ones(len(y)), hidden=8)
    path = tmp_path / "m.onnx"
    to_onnx(model, path, "test word")
    speech = read_audio(synth(tmp_path / "s.wav", "the kitchen light is on"))
    audio = np.r_[np.zeros(8000, np.float32), speech, np.zeros(16000, np.float32)] * 0.3
    det = Detector(path, WakeConfig())
    scores = []
    for i in range(0, len(audio) - FRAME + 1, FRAME):
        det.process(audio[i : i + FRAME], i + FRAME)
        scores.append(det.last_score)
    # the detector streams its own features; compare its last score with ours on the same window
    feats = det.window()[None]
    assert scores[-1] == pytest.approx(float(model.scores(feats)[0]), abs=1e-4)
    ours = model.scores(features.windows(features.embed(audio)))
    assert abs(ours[-1] - scores[-1]) < 0.05  # batch and streaming features nearly agree


def test_ensemble_is_one_network_averaging_its_members_logits():
    rng = np.random.default_rng(3)
    x, y = separable(600, rng)
    members = [classifier.fit(x, y, np.ones(len(y)), hidden=8, seed=s, members=1) for s in (0, 1)]
    merged = classifier.merge(members)
    assert merged.w1.shape == (features.WINDOW * features.EMBED_DIM, 16)
    np.testing.assert_allclose(merged.logits(x), np.mean([m.logits(x) for m in members], axis=0), rtol=1e-4, atol=1e-4)
    # Fitted side by side on the machine's cores, the members are the very networks fitted one at a time.
    together = classifier.fit(x, y, np.ones(len(y)), hidden=8, members=2)
    for a, b in zip((together.w1, together.b1, together.w2, together.b2), (merged.w1, merged.b1, merged.w2, merged.b2)):
        np.testing.assert_array_equal(a, b)


def test_melspectrogram_in_chunks_equals_the_model_on_the_whole_signal():
    mel = features._sessions()[0]
    rng = np.random.default_rng(4)
    for n in (700, 16000, 160480 + 1234, 2 * 160000 + 641):  # a partial last chunk, and lengths on the edges
        x = (rng.standard_normal(n) * 0.05).astype(np.float32)
        whole = mel.run(None, {"input": features._pcm(x)[None]})[0][:, 0].reshape(-1, 32) / 10.0 + 2.0
        chunked = features.melspec(x)
        assert chunked.shape == whole.shape
        np.testing.assert_allclose(chunked, whole, atol=1e-4)


def test_embeddings_do_not_depend_on_the_batch_or_the_thread_that_computed_them():
    rng = np.random.default_rng(6)
    spec = features.melspec((rng.standard_normal(16000 * 8) * 0.05).astype(np.float32))
    whole = features.embed_mels(spec)
    assert len(whole) > 2 * features.THREADS * features.EMBED_BATCH  # every thread has several batches of it
    for end in (76, 76 + 8 * 5, 76 + 8 * 37):  # one window, a partial batch, windows in another thread's share
        np.testing.assert_array_equal(features.embed_mels(spec[:end]), whole[: (end - 76) // 8 + 1])
    np.testing.assert_array_equal(features.embed_mels(spec[8 * 9 :]), whole[9:])  # each window in another batch slot


def test_fit_leaves_its_input_alone_and_scores_in_blocks_like_all_at_once(monkeypatch):
    rng = np.random.default_rng(5)
    x, y = separable(400, rng)
    kept = x.copy()
    model = classifier.fit(x, y, np.ones(len(y)), hidden=8, members=1)
    np.testing.assert_array_equal(x, kept)  # standardised batch by batch: the training set is left as it was
    whole = model.logits(x)
    monkeypatch.setattr(classifier, "BLOCK", 7)
    np.testing.assert_allclose(model.logits(x), whole, rtol=1e-5, atol=1e-5)
    assert model.logits(x.astype(np.float16)).shape == (400,)  # the room bank is kept as float16


def test_input_noise_makes_the_networks_scores_steadier_when_a_window_is_disturbed(monkeypatch):
    rng = np.random.default_rng(0)
    x, y = separable(1200, rng)
    disturbed = x[800:] + rng.normal(0, 0.5, x[800:].shape).astype(np.float32)

    def moved(model):  # how far the score moves, against the spread of the scores
        s = model.logits(x[800:])
        return float(np.mean(np.abs(model.logits(disturbed) - s)) / np.std(s))

    assert classifier.INPUT_NOISE > 0  # the recipe's own amount
    noisy = classifier.fit(x[:800], y[:800], np.ones(800), hidden=16, members=1)
    assert np.mean((noisy.scores(x[800:]) >= 0.5) == y[800:]) > 0.97  # it still learns
    monkeypatch.setattr(classifier, "INPUT_NOISE", 0.0)
    clean = classifier.fit(x[:800], y[:800], np.ones(800), hidden=16, members=1)
    assert moved(noisy) < 0.93 * moved(clean), (moved(noisy), moved(clean))
    # The noise has its own seeded draws: the same fit again is the same network.
    monkeypatch.undo()
    again = classifier.fit(x[:800], y[:800], np.ones(800), hidden=16, members=1)
    np.testing.assert_array_equal(again.w1, noisy.w1)


def test_two_rounds_average_two_independent_trainings(capsys, paths):
    from earmuff import config
    from earmuff.wakeword.train.trainer import ROUND_SEED_STEP, TrainOptions, train

    small = dict(positives=20, copies=1, negative_sentences=20, hidden_units=4)
    both = train(TrainOptions(phrase="hey bramble", rounds=2, seed=0, **small), config.load(paths.config))
    bars = capsys.readouterr().err  # a bar per stage and round, the fit's counting each network, and the time left
    for stage in ("synthesize (1/2)", "room noise (1/2)", "features (1/2)", "fit (1/2)", "fit (2/2)"):
        assert f"{stage:<12} [{'#' * 24}] done in" in bars, bars
    # The time left after a round is not asserted: it depends on the machine's load.
    assert "fit (1/2)    [........................] 0/6" in bars and "round 1 of 2 done; about " in bars
    second = train(
        TrainOptions(phrase="hey bramble", rounds=1, seed=ROUND_SEED_STEP, quiet=True, **small),
        config.load(paths.config),
    )
    width = second.model.w1.shape[1]
    assert both.model.w1.shape[1] == 2 * width and both.meta["samples"]["rounds"] == 2
    # The second round is exactly a training of its own at the next seed, averaged in with the first.
    np.testing.assert_array_equal(both.model.w1[:, width:], second.model.w1)
    np.testing.assert_allclose(both.model.w2[width:], second.model.w2 / 2, rtol=1e-6)
    assert not np.allclose(both.model.w1[:, :width], second.model.w1, atol=1e-3)
    assert both.meta["samples"]["positive_utterances"] == 2 * second.meta["samples"]["positive_utterances"]


def test_a_training_set_left_in_parts_fits_the_same_network_as_one_array():
    rng = np.random.default_rng(3)
    x, y = separable(900, rng)
    x16 = x.astype(np.float16)
    whole = classifier.fit(x16, y, np.ones(900), hidden=8, members=1)
    parts = classifier.Rows([x16[:100], x16[100:101], x16[101:101], x16[101:700], x16[700:]])
    assert len(parts) == 900 and np.array_equal(
        parts[np.array([0, 99, 100, 101, 899])], x16[[0, 99, 100, 101, 899]].reshape(5, -1)
    )
    apart = classifier.fit(parts, y, np.ones(900), hidden=8, members=1)
    for a, b in zip((whole.w1, whole.b1, whole.w2, whole.b2), (apart.w1, apart.b1, apart.w2, apart.b2)):
        assert np.array_equal(a, b)


def test_five_takes_teach_the_model_an_owners_voice_it_never_heard(paths):
    """An owner whose voice is out of training: with 5 takes every other saying of theirs scores above any the
    typed name alone gives them."""
    from earmuff import config
    from earmuff.wakeword.train import scoring, synth
    from earmuff.wakeword.train.trainer import TrainOptions, train
    from earmuff.wakeword.train.voices import Utterance

    said = [synth.speak(Utterance("hey bramble", "flite", "awb", rate)) for rate in np.linspace(0.85, 1.2, 11)]
    takes, others = tuple(said[0::2]), said[1::2]
    small = dict(positives=40, copies=1, negative_sentences=40, hidden_units=8, rounds=1, seed=0, quiet=True)
    small.update(voices=("espeak-ng", "flite"), exclude_voices=frozenset({"awb"}))
    cfg = config.load(paths.config)
    typed = train(TrainOptions(phrase="hey bramble", **small), cfg).model
    owned = train(TrainOptions(phrase="hey bramble", owner_clips=takes, **small), cfg).model
    before = [scoring.best_in_take(typed.scores, c) for c in others]
    after = [scoring.best_in_take(owned.scores, c) for c in others]
    # Seeds 0-2: 0.61-0.94 typed, 0.995-1.0 with takes; with the takes weighted 0, 0.82 is not above 0.89.
    assert min(after) > max(before), (before, after)
