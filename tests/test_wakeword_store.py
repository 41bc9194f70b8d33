"""Installing, selecting, importing and removing wake words: atomic, and loud about bad input."""

import os
import time

import numpy as np
import pytest

from earmuff import config
from earmuff.wake_name import WakeWordError
from earmuff.wakeword.registry import store
from earmuff.wakeword.registry.export import to_onnx
from wakewordlib import install, tiny_model

pytestmark = pytest.mark.unit


def test_install_then_resolve_and_activate(earmuff_home, paths):
    (earmuff_home / "config.toml").write_text("# mine\n[noise]\nlevel_dbfs = -25.0\n\n[wake]\nthreshold = 0.6\n")
    install("hey bramble")
    assert store.resolve(paths, "Hey Bramble") == store.root(paths) / "hey_bramble" / "model.onnx"
    store.activate(paths, "hey bramble")
    cfg = config.load(paths.config)
    assert cfg.wake.wake_word == "hey bramble" and cfg.wake.threshold == 0.6 and cfg.noise.level_dbfs == -25.0
    assert "# mine" in (earmuff_home / "config.toml").read_text()
    assert store.names(paths) == ["hey bramble"]
    store.detector(paths, "hey bramble", cfg.wake).process(np.zeros(1280, np.float32), 1280)


def test_reinstall_replaces_and_cleans_the_old_version(paths):
    install("hey bramble", seed=1)
    install("hey bramble", seed=2)
    assert store.info(paths, "hey bramble")["seed"] == 2
    assert len(list(store.root(paths).glob(".v-*"))) == 1


def test_incomplete_model_is_not_installed_and_previous_stays(paths):
    install("hey bramble", seed=1)
    v = store.new_version(paths, "hey bramble")
    (v / store.MODEL).write_bytes(b"")
    with pytest.raises(WakeWordError, match="model.onnx is missing or empty; nothing was installed"):
        store.install(paths, v, "hey bramble")
    assert store.info(paths, "hey bramble")["seed"] == 1


def test_activate_unknown_name_leaves_config_alone(earmuff_home, paths):
    with pytest.raises(WakeWordError, match="wake word 'hey nobody': no such wake word"):
        store.activate(paths, "hey nobody")
    assert not (earmuff_home / "config.toml").exists()


def test_import_corrupt_model_names_the_file(tmp_path, paths):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not an onnx model at all")
    with pytest.raises(WakeWordError, match=f"{bad}: cannot be loaded"):
        store.import_model(paths, bad, None)
    with pytest.raises(WakeWordError, match="expected an openWakeWord .onnx or .tflite model"):
        store.import_model(paths, tmp_path / "model.pt", None)
    (tmp_path / "broken.tflite").write_bytes(b"not a tflite model either")
    with pytest.raises(WakeWordError, match="broken.tflite: cannot be loaded"):
        store.import_model(paths, tmp_path / "broken.tflite", None)
    assert store.names(paths) == []


def test_import_good_model_and_remove(tmp_path, paths):
    good = tmp_path / "hey_teapot.onnx"
    to_onnx(tiny_model(), good, "x")
    assert store.import_model(paths, good, None) == "hey teapot"
    assert store.names(paths) == ["hey teapot"]
    store.activate(paths, "hey teapot")
    with pytest.raises(WakeWordError, match="is the active wake word"):
        store.remove(paths, "hey teapot")
    store.activate(paths, "hey jarvis")
    store.remove(paths, "hey teapot")
    assert store.names(paths) == []
    with pytest.raises(WakeWordError, match="'hey teapot': not installed"):
        store.remove(paths, "hey teapot")


def test_selecting_keeps_commented_headers_and_other_lines(earmuff_home, paths):
    path = earmuff_home / "config.toml"
    path.write_text(
        '[wake] # x\nwake_word = "hey jarvis"  # the default\nthreshold = 0.7\n[window]  # note\nmax_s = 9.0\n'
    )
    install("hey bramble")
    store.activate(paths, "hey bramble")
    assert path.read_text() == (
        '[wake] # x\nwake_word = "hey bramble"  # the default\nthreshold = 0.7\n[window]  # note\nmax_s = 9.0\n'
    )
    assert config.load(paths.config).wake == config.WakeConfig(wake_word="hey bramble", threshold=0.7)


def test_selecting_into_a_broken_config_is_refused_and_changes_nothing(earmuff_home, paths):
    path = earmuff_home / "config.toml"
    path.write_text("[wake] # x\nthreshold = 7\n")
    install("hey bramble")
    with pytest.raises(config.ConfigError, match=r"wake.threshold = 7.0: expected a value from 0.01 to 0.99"):
        store.activate(paths, "hey bramble")
    assert path.read_bytes() == b"[wake] # x\nthreshold = 7\n"


def test_import_a_community_tflite_model_and_detect_with_it(tmp_path, paths):
    from audiolib import frame_scores, synth
    from earmuff.audio.files import read_audio
    from earmuff.runtime.detector import pretrained_dir

    community = tmp_path / "buddy.tflite"  # openWakeWord's own "hey jarvis", as a file from elsewhere
    community.write_bytes((pretrained_dir() / "hey_jarvis.tflite").read_bytes())
    assert store.import_model(paths, community, "hey buddy") == "hey buddy"
    assert store.resolve(paths, "hey buddy") == store.root(paths) / "hey_buddy" / "model.tflite"
    store.activate(paths, "hey buddy")
    clip = read_audio(synth(tmp_path / "name.wav", "hey jarvis", "flite", "kal16"))
    assert frame_scores(clip, "hey buddy").max() > 0.9


def test_a_new_version_clears_what_a_killed_install_left(earmuff_home, paths):
    install("hey bramble")
    used = (store.root(paths) / "hey_bramble").resolve()
    # a kill before install:
    old_left, new_left = store.new_version(paths, "hey teapot"), store.new_version(paths, "hey teapot")
    hour_ago = time.time() - 3700
    os.utime(old_left, (hour_ago, hour_ago))
    os.utime(used, (hour_ago, hour_ago))
    store.new_version(paths, "hey bramble")
    assert not old_left.exists() and new_left.exists() and used.exists()  # only the old, unused one goes
