"""`earmuff wakeword ...`: one clear line and exit code 2 on bad input; interruptions keep the old model."""

import errno
from pathlib import Path

import numpy as np
import pytest

from earmuff import config, memory
from earmuff.cli import main
from earmuff.detector import WakeWordError
from earmuff.wakeword import publish as publish_mod, store, train as train_mod
from earmuff.wakeword.train import TrainResult
from test_wakeword_store import install, tiny_model


@pytest.mark.parametrize(
    "argv, message",
    [
        (["set", ""], "wake phrase '': is empty"),
        (["set", "hey bramble", "--lang", "xx-zz"], "language 'xx-zz': espeak-ng has no such voice"),
        (["use", "hey nobody"], "wake word 'hey nobody': no such wake word"),
        (["remove", "hey nobody"], "wake word 'hey nobody': not installed"),
        (["import", "/nonexistent/model.onnx"], "model file /nonexistent/model.onnx: does not exist"),
        (["refit"], "wake word 'hey jarvis': is built in and cannot be refitted"),
    ],
)
def test_bad_input_is_one_clear_line(argv, message, capsys):
    assert main(["wakeword", *argv]) == 2
    err = capsys.readouterr().err
    assert f"earmuff: error: {message}" in err


def test_list_use_and_import(tmp_path, capsys):
    install("hey bramble")
    assert main(["wakeword", "use", "Hey Bramble"]) == 0
    assert config.load().wake.wake_word == "hey bramble"
    assert main(["wakeword", "list"]) == 0
    out = capsys.readouterr().out
    assert "* hey bramble" in out and "  hey jarvis" in out


def test_add_samples_refuses_bad_files_with_reasons(tmp_path, capsys):
    install("hey bramble")
    store.activate("hey bramble")
    silent = tmp_path / "silent.wav"
    from earmuff.audio_io import write_wav

    write_wav(silent, np.zeros(16000, np.float32))
    (tmp_path / "junk.wav").write_bytes(b"RIFF not really")
    assert main(["wakeword", "add-samples", str(silent), str(tmp_path / "junk.wav"), "--no-retrain"]) == 2
    err = capsys.readouterr().err
    assert f"refused: {silent}: too quiet" in err and "junk.wav: cannot be decoded" in err


@pytest.fixture(autouse=True)
def keep_oom_score():
    """Training raises this process's OOM score; put it back so the rest of the test run is not the first victim."""
    score = Path("/proc/self/oom_score_adj")
    before = score.read_text()
    yield
    try:
        score.write_text(before)
    except OSError:  # lowering it below what it was raised from needs CAP_SYS_RESOURCE
        pass


def fake_result(phrase):
    return TrainResult(tiny_model(), {"phrase": phrase, "language": "en-us", "threshold": 0.5})


def test_ctrl_c_during_training_keeps_the_previous_wake_word(monkeypatch, capsys):
    install("hey bramble", seed=1)
    store.activate("hey bramble")

    def interrupted(opts, cfg, should_stop=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_mod, "train", interrupted)
    monkeypatch.setattr(memory, "available_mb", lambda: 300.0)  # a Zero 2 W with the service running
    assert main(["wakeword", "set", "hey teapot"]) == 130
    err = capsys.readouterr().err
    assert "warning: training needs about 500 MB of memory and 300 MB is available" in err
    assert "'hey bramble' stays active" in err
    assert config.load().wake.wake_word == "hey bramble" and store.names() == ["hey bramble"]


def test_disk_full_while_saving_keeps_the_previous_model(monkeypatch):
    install("hey bramble", seed=1)
    store.activate("hey bramble")

    def full(model, path, name):
        path.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(publish_mod, "to_onnx", full)
    with pytest.raises(WakeWordError, match="the disk is full.*previous wake word stays active"):
        publish_mod.publish(fake_result("hey bramble"))
    assert store.info("hey bramble")["seed"] == 1
    assert config.load().wake.wake_word == "hey bramble"
    assert len(list(store.root().glob(".v-*"))) == 1  # the partial version was removed


def test_training_offers_itself_to_the_oom_killer_before_the_daemon(earmuff_home):
    assert main(["wakeword", "set", ""]) == 2  # fails at once, after raising its own score
    assert Path("/proc/self/oom_score_adj").read_text().strip() == "1000"
