"""A quick model now, a better one later: the service trains the full recipe in the background and switches to it
only if it scores better, with the noise on throughout; a failed try waits for a quiet spell and keeps the quick model."""

import dataclasses
import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import daemonlib
from earmuff import config, memory
from earmuff.paths import Paths
from earmuff.service.control import request
from earmuff.service.room_learning import RoomLearning
from earmuff.wakeword.registry import background, store
from earmuff.wakeword.registry.publish import publish
from earmuff.wakeword.train import classifier, features
from earmuff.wakeword.train.trainer import TrainResult, options_from, quick
from pulselib import SinkRecorder, quiet_spans

S = 16000
SMALL = "[wakeword]\npositives = 30\nnegative_sentences = 30\ncopies = 1\nrounds = 2\n"


def weak_quick_model(phrase: str) -> None:
    """Install a 'quick' model that scores every window 0.02: any trained model beats it on held-back data."""
    dim = features.WINDOW * features.EMBED_DIM
    model = classifier.Mlp(
        np.zeros((dim, 1), np.float32),
        np.zeros(1, np.float32),
        np.ones((1, 1), np.float32),
        np.full(1, -4.0, np.float32),
    )
    meta = {
        "phrase": phrase,
        "language": "en-us",
        "seed": 0,
        "created": "2026-11-30T00:00:00+0000",
        "recipe": "quick",
        "threshold": 0.5,
        "validation": {"recall": 0.0},
    }
    publish(Paths.from_env(), TrainResult(model, meta), activate=True)


@pytest.mark.unit
def test_the_quick_recipe_is_its_rounds_without_the_neural_voices():
    toml = b'[wakeword]\nquick_rounds = 2\nvoices = ["espeak-ng", "piper", "kokoro", "flite"]\n'
    cfg = config.parse(toml, Path("config.toml"))
    full = options_from(cfg, "hey bramble", "en-us", seed=3)
    fast = quick(full)
    assert (full.rounds, full.voices) == (3, ("espeak-ng", "piper", "kokoro", "flite"))
    assert (fast.rounds, fast.voices) == (2, ("espeak-ng", "flite"))
    assert dataclasses.replace(fast, rounds=full.rounds, voices=full.voices) == full  # the rest as configured


@pytest.mark.training
def test_a_quick_model_is_pending_until_a_background_training_ends_with_it(earmuff_home, monkeypatch, paths):
    monkeypatch.setattr(memory, "available_mb", lambda: 2000.0)
    weak_quick_model("hey bramble")
    cfg = config.load(paths.config)
    assert background.pending(paths, "hey bramble") and cfg.wake.wake_word == "hey bramble"
    device = SimpleNamespace(gate=SimpleNamespace(counter=S), last_voice=0, state=lambda: ("jamming", 0.0))
    learning = RoomLearning(paths)
    assert learning.due(cfg, device, now=0.0)  # at once: no room talk, no quiet spell needed
    device.state = lambda: ("window", 0.0)
    assert not learning.due(cfg, device, now=0.0)  # never during a window
    device.state = lambda: ("jamming", 0.0)
    # A try that was killed (out of memory, SIGKILL): the state says so, the quick model stays pending, and
    # the next try waits for the room to be quiet for refit_idle_minutes.
    background.started(paths, "hey bramble", background.quick_model(paths, "hey bramble"))
    background.write(paths, pid=2**22 + 1)  # no such process
    assert "stopped before it ended" in background.describe(paths, "hey bramble") and background.pending(
        paths, "hey bramble"
    )
    learning.failed, learning.last_refit = True, 0.0
    assert not learning.due(cfg, device, now=1.0)
    quiet = cfg.wakeword.refit_idle_minutes * 60
    device.gate.counter = int((quiet + 1) * S)
    assert learning.due(cfg, device, now=quiet + 1)
    background.finished(paths, "kept the quick model, it did as well (...)")
    assert not background.pending(paths, "hey bramble") and not learning.due(cfg, device, now=quiet + 1)


@pytest.mark.realtime
def test_the_service_trains_the_better_model_and_switches_with_the_noise_on(pulse, earmuff_home, tmp_path, paths):
    (earmuff_home / "config.toml").write_text(SMALL)
    weak_quick_model("hey bramble")
    created = store.info(paths, "hey bramble")["created"]
    proc = daemonlib.start(pulse, earmuff_home)
    rec = SinkRecorder(pulse, tmp_path / "sink.raw")
    seen = set()
    try:
        status = daemonlib.wait_ready(earmuff_home)
        assert status["wake_word"] == "hey bramble"
        deadline = time.monotonic() + 900  # a liveness bound for a 2-round training at nice 19 on a loaded machine
        while time.monotonic() < deadline:
            line = request(earmuff_home / "control.sock", "status")["training"] or ""
            seen.add(line.split(":")[0])
            if line.startswith("better model:"):
                break
            time.sleep(0.5)
        time.sleep(2.0)  # the reload, then some noise after it
        x = rec.stop()
        status = request(earmuff_home / "control.sock", "status")
    finally:
        daemonlib.stop(proc)
    log = (earmuff_home / "daemon.log").read_text()
    assert status["training"].startswith("better model: installed (recall"), (status, log[-3000:])
    assert "training a better model" in seen, seen  # progress was shown while it ran
    meta = store.info(paths, "hey bramble")
    assert meta["recipe"] == "full" and meta["created"] != created and meta["validation"]["rival"]["recall"] == 0.0
    assert status["wake_word"] == "hey bramble" and status["state"] == "jamming"
    assert not background.pending(paths, "hey bramble")
    assert daemonlib.without_underruns(quiet_spans(x), log) == [], log[-3000:]  # the noise never stopped
    state = json.loads((earmuff_home / "wakewords" / background.STATE).read_text())
    assert state["outcome"].startswith("installed") and state["pid"] is None
