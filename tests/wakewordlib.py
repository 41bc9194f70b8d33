"""Installed wake words for the tests: tiny real models in the store, and a model "trained a minute ago"."""

from __future__ import annotations

import json
import os
import time

import numpy as np

from earmuff import config
from earmuff.paths import Paths
from earmuff.wakeword.registry import store
from earmuff.wakeword.registry.export import to_onnx
from earmuff.wakeword.train.classifier import Mlp


def tiny_model(seed=0):
    """A small random classifier in the shape of a trained one."""
    rng = np.random.default_rng(seed)
    return Mlp(
        rng.normal(0, 0.01, (1536, 8)).astype(np.float32),
        np.zeros(8, np.float32),
        rng.normal(0, 0.1, (8, 1)).astype(np.float32),
        np.zeros(1, np.float32),
    )


def install(phrase, seed=0):
    """Install a tiny model of `phrase` in the store, as training would."""
    v = store.new_version(Paths.from_env(), phrase)
    to_onnx(tiny_model(seed), v / store.MODEL, phrase)
    (v / store.SIDECAR).write_text(json.dumps({"phrase": phrase, "seed": seed}))
    return store.install(Paths.from_env(), v, phrase)


def trained_a_minute_ago(home):
    """A model of 'hey bramble' trained here a minute ago (only its time and sidecar matter), and a config using it."""
    folder = home / "wakewords" / "hey_bramble"
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(b"x")
    os.utime(folder / "model.onnx", (time.time() - 60, time.time() - 60))
    (folder / "model.json").write_text('{"phrase": "hey bramble", "language": "en-us"}')
    return config.Config(wake=config.WakeConfig(wake_word="hey bramble"))
