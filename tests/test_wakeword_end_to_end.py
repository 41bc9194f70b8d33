"""Train a wake word from a typed phrase, then use it in the virtual room with the jamming on.

The phrase is spoken by a voice kept out of training (flite's slt); other phrases must not fire it.
Reduced sample counts keep this near a minute and a half on a laptop core.
"""

import json

import pytest

from conftest import synth
from earmuff import config
from earmuff.scene import load_scene
from earmuff.simulate import simulate
from earmuff.wakeword import store
from earmuff.wakeword.publish import publish
from earmuff.wakeword.train import TrainOptions, train

PHRASE = "hey bramble"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EARMUFF_HOME", str(home))
        opts = TrainOptions(PHRASE, positives=200, copies=2, negative_sentences=250, seed=3,
                            exclude_voices=frozenset({"slt"}), quiet=True)
        result = train(opts, config.load())
        link = publish(result)
        assert config.load().wake.wake_word == PHRASE  # installed and made active
        return (link / store.MODEL).resolve(), json.loads((link / store.SIDECAR).read_text())


def run_scene(folder, model, lines, seed):
    body = f'duration_s = {4.0 * len(lines) + 3}\nseed = {seed}\nwake_word = "{model}"\n'
    for i, (text, voice, dist, level) in enumerate(lines):
        engine = "flite" if voice in ("slt", "kal16", "awb", "rms") else "espeak-ng"
        synth(folder / f"l{i}.wav", text, engine, voice)
        body += f'[[source]]\nfile = "l{i}.wav"\nstart_s = {1.0 + 4.0 * i}\ndistance_m = {dist}\nlevel_db_spl = {level}\n'
    (folder / "scene.toml").write_text(body)
    result = simulate(load_scene(folder / "scene.toml"), config.load())
    return [e for e in result.events if e["event"] == "wake_detected"]


def test_sidecar_reports_what_was_measured(trained):
    _, meta = trained
    assert meta["phrase"] == PHRASE and meta["language"] == "en-us"
    assert 0.5 <= meta["threshold"] <= 0.99 and meta["calibrated_to_0_5"]
    v = meta["validation"]
    assert v["positive_utterances"] > 20 and v["negative_hours"] > 0
    assert v["recall"] >= 0.7  # on held-back synthetic voices in the jamming residual


def test_held_out_voice_wakes_it_in_the_jammed_room(trained, tmp_path):
    model, _ = trained
    hits = run_scene(tmp_path, model, [(PHRASE, "slt", 1.5, 63.0)], seed=11)
    assert len(hits) == 1 and 1.5 < hits[0]["t"] < 4.5, hits


def test_other_phrases_do_not_wake_it(trained, tmp_path):
    model, _ = trained
    lines = [
        ("what is the weather tomorrow", "slt", 1.5, 63.0),
        ("hey there, how are you", "en-us", 1.5, 63.0),
        ("we walked along the river", "slt", 2.0, 60.0),
        ("bring me the table", "en-gb", 1.0, 62.0),
    ]
    assert run_scene(tmp_path, model, lines, seed=12) == []
