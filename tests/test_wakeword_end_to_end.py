"""Train a wake word from a typed phrase, then use it in the virtual room with the jamming on.

The phrase is spoken by a voice kept out of training (flite's slt); other phrases must not fire it. Then the
device learns a room and the daemon's room learning refits the wake word with the default recipe: a one-round
refit was weaker than the three-round model it replaced and fired on the room's talk (2026-11-30).
"""

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from audiolib import synth
from earmuff import config, memory
from earmuff.config import SAMPLE_RATE
from earmuff.paths import Paths
from earmuff.service import room_learning
from earmuff.service.control import ask_reload
from earmuff.sim.scene import load_scene
from earmuff.sim.simulate import simulate
from earmuff.wakeword.registry import room_bank, store
from earmuff.wakeword.registry.publish import publish
from earmuff.wakeword.train.trainer import TrainOptions, train

pytestmark = pytest.mark.training

PHRASE = "hey bramble"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EARMUFF_HOME", str(home))
        paths = Paths.from_env()
        # The default counts. One round of 200 sayings and 250 negatives fired on the held-out voice's sentences
        # at seeds 5 and 6 of 3-6 without the neural voice in training, and at 3, 5 and 6 with it; two rounds,
        # and three of 200 each (the default), pass at seed 3.
        opts = TrainOptions(
            phrase=PHRASE, seed=3, exclude_voices=frozenset({"slt", "cmu_us_slt_arctic_hts"}), quiet=True
        )
        result = train(opts, config.load(paths.config))
        link = publish(paths, result)
        assert ask_reload(paths) == "no earmuff is running here; it is used from the next start"
        assert config.load(paths.config).wake.wake_word == PHRASE  # installed and made active
        return (link / store.MODEL).resolve(), json.loads((link / store.SIDECAR).read_text()), home


def run_scene(folder, model, lines, seed, room=None):
    """Lines (text, voice, distance, level[, start]) one every 4 s unless a start is given; the detections."""
    starts = [line[4] if len(line) > 4 else 1.0 + 4.0 * i for i, line in enumerate(lines)]
    body = f'duration_s = {max(starts) + 6.0}\nseed = {seed}\nwake_word = "{model}"\n'
    for i, (text, voice, dist, level, *_) in enumerate(lines):
        engine = "flite" if voice in ("slt", "kal16", "awb", "rms") else "espeak-ng"
        synth(folder / f"l{i}.wav", text, engine, voice)
        body += f'[[source]]\nfile = "l{i}.wav"\nstart_s = {starts[i]}\ndistance_m = {dist}\nlevel_db_spl = {level}\n'
    (folder / "scene.toml").write_text(body)
    result = simulate(load_scene(folder / "scene.toml"), config.load(Paths.from_env().config), room)
    return [e for e in result.events if e["event"] == "wake_detected"]


def test_sidecar_reports_what_was_measured(trained):
    _, meta, _ = trained
    assert meta["phrase"] == PHRASE and meta["language"] == "en-us"
    assert 0.5 <= meta["threshold"] < 1.0 and meta["calibrated_to_0_5"]
    v = meta["validation"]
    assert v["positive_utterances"] > 20 and v["negative_hours"] > v["recorded_speech_hours"] > 1.0
    # The threshold meets the target on held-back talk and recorded people, or keeps 4 sayings in 5 if it cannot.
    assert v["false_accepts_per_hour"] <= v["target_per_hour"] or v["recall"] >= 0.8 - 1 / v["positive_utterances"]
    # On held-back synthetic voices in the jamming residual, at the installed threshold. 0.6, not 0.7, since the
    # classifier's input noise (classifier.INPUT_NOISE), with which it scored 0.683 here: at that threshold the
    # noise trades some recall for far fewer false accepts on real people, and at <= 0.5 false accepts per hour
    # it raised their recall from 26 to 45 % (docs/benchmarks.md).
    assert v["recall"] >= 0.6


def test_held_out_voice_wakes_it_in_the_jammed_room(trained, tmp_path):
    model, *_ = trained
    hits = run_scene(tmp_path, model, [(PHRASE, "slt", 1.5, 63.0)], seed=11)
    assert len(hits) == 1 and 1.5 < hits[0]["t"] < 4.5, hits


def test_other_phrases_do_not_wake_it(trained, tmp_path):
    model, *_ = trained
    lines = [
        ("what is the weather tomorrow", "slt", 1.5, 63.0),
        ("hey there, how are you", "en-us", 1.5, 63.0),
        ("we walked along the river", "slt", 2.0, 60.0),
        ("bring me the table", "en-gb", 1.0, 62.0),
    ]
    assert run_scene(tmp_path, model, lines, seed=12) == []


ROOM_TALK = [  # 6 s apart: a false accept among them opens a window that closes with no command; 6 lines bank
    # refit_min_windows (10): one window per 2 s of voice, and every window that scores above 0.1
    ("we had a ramble by the river", "en-us", 1.5, 63.0, 1.0),
    ("the brambles grow by the gate", "en-gb", 2.0, 60.0, 7.0),
    ("put the kettle on please, and take the biscuits out of the cupboard", "en-us", 1.5, 62.0, 13.0),
    ("the garden needs some rain this week", "en-gb", 1.5, 62.0, 19.0),
    ("have you seen my blue umbrella, I left it by the door", "en-us", 2.0, 61.0, 25.0),
    ("dinner will be ready at seven, so do not be late", "en-gb", 1.5, 63.0, 31.0),
]
OWNER_AT = 37.0  # the owner says the name here, and a command 2.6 s later


def test_device_learns_the_room_and_the_refit_keeps_the_owner(trained, tmp_path, monkeypatch):
    """The running device banks its room's talk and the owner's name; when the room is quiet, the daemon's
    RoomLearning starts `earmuff wakeword refit`, which trains on them.

    The owner is the voice held out of training (slt). The refit, like `earmuff wakeword set`, holds out
    no voice, so the room's talk is in other voices (else it would test the refit's new voices, not the room).
    """
    _, _, home = trained
    mine = tmp_path / "home"
    shutil.copytree(home, mine, symlinks=True)
    monkeypatch.setenv("EARMUFF_HOME", str(mine))
    paths = Paths.from_env()  # the copy's, not the test's own home
    model = store.root(paths) / "hey_bramble" / store.MODEL
    owner = [(PHRASE, "slt", 1.5, 63.0, OWNER_AT), ("what time is it", "slt", 1.5, 63.0, OWNER_AT + 2.6)]
    collector = room_bank.Collector(paths, room_bank.positive_kind(PHRASE), settle_s=3.0)
    hits = run_scene(tmp_path, model, ROOM_TALK + owner, seed=13, room=collector)
    assert any(OWNER_AT < h["t"] < OWNER_AT + 3 for h in hits), hits

    (mine / "config.toml").write_text(
        (mine / "config.toml").read_text() + "\n[wakeword]\nnegative_sentences = 250\nrefit_min_windows = 10\n"
    )
    cfg = config.load(paths.config)
    monkeypatch.setattr(memory, "available_mb", lambda: 4096.0)  # this machine's memory must not decide
    quiet = int(cfg.wakeword.refit_idle_minutes * 60 * SAMPLE_RATE) + 1
    device = SimpleNamespace(
        room=collector, gate=SimpleNamespace(counter=quiet), last_voice=0, state=lambda: ("jamming", 0.0)
    )
    before = model.resolve()
    learning = room_learning.RoomLearning(paths)
    learning.tick(cfg, device, now=0.0)  # writes the settled windows, then starts the refit: the room is quiet
    try:
        assert learning.training, room_bank.count(paths)  # at least refit_min_windows (10) were banked
        banked = room_bank.count(paths)
        assert banked >= len(ROOM_TALK) and room_bank.count(paths, room_bank.positive_kind(PHRASE)) == 1, (
            banked,
            hits,
        )  # 1 per 2 s of talk
        assert learning.process.wait(timeout=1800) == 0  # a bound for a loaded machine, not a goal
    finally:
        if learning.process:
            learning.process.kill()  # only if it is still running: never leave a training behind
    learning.tick(cfg, device, now=room_learning.CHECK_EVERY_S)
    assert learning.process is None and not learning.training

    assert model.resolve() != before and not before.exists()  # a new version replaced the old one atomically
    samples = json.loads((model.parent / store.SIDECAR).read_text())["samples"]
    assert samples["room_bank_windows"] == banked
    assert samples["room_positive_windows"] == 0  # one detection followed by a command is not yet evidence
    more = np.zeros((cfg.wakeword.refit_min_windows, 16, 96), np.float16)  # more talk since
    room_bank.add(paths, more, limit=100000)
    assert not learning.due(cfg, device, now=2 * room_learning.CHECK_EVERY_S)  # but at most one refit a day
    learning.last_refit = float("-inf")
    assert learning.due(cfg, device, now=2 * room_learning.CHECK_EVERY_S)
    (tmp_path / "after").mkdir()
    hits = run_scene(tmp_path / "after", model.resolve(), ROOM_TALK + owner, seed=14)
    assert [h for h in hits if not OWNER_AT < h["t"] < OWNER_AT + 3] == [] and len(hits) == 1, hits
