"""`earmuff wakeword ...`: one clear line and exit code 2 on bad input; interruptions keep the old model."""

import errno
from pathlib import Path

import numpy as np
import pytest

from earmuff import config, memory
from earmuff.cli.main import main
from earmuff.wake_name import WakeWordError
from earmuff.wakeword.registry import publish as publish_mod
from earmuff.wakeword.registry import store
from earmuff.wakeword.train import trainer as train_mod
from earmuff.wakeword.train.trainer import TrainResult
from wakewordlib import install, tiny_model

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "argv, message",
    [
        (["set", ""], "wake phrase '': is empty"),
        (["set", "hey bramble", "--lang", "xx-zz"], "language 'xx-zz': espeak-ng has no such voice"),
        (["use", "hey nobody"], "wake word 'hey nobody': no such wake word"),
        (["remove", "hey nobody"], "wake word 'hey nobody': not installed"),
        (["import", "/nonexistent/model.onnx"], "model file /nonexistent/model.onnx: does not exist"),
        (["refit"], "wake word 'hey jarvis': is built in and cannot be retrained"),
        (["record", "--takes", "0"], "--takes 0: expected 1 to 20"),
    ],
)
def test_bad_input_is_one_clear_line(argv, message, capsys):
    assert main(["wakeword", *argv]) == 2
    err = capsys.readouterr().err
    assert f"earmuff: error: {message}" in err


def test_list_use_and_import(tmp_path, capsys, paths):
    install("hey bramble")
    assert main(["wakeword", "use", "Hey Bramble"]) == 0
    assert config.load(paths.config).wake.wake_word == "hey bramble"
    assert "'hey bramble' is now the wake word; no earmuff is running here" in capsys.readouterr().out
    assert main(["wakeword", "list"]) == 0
    out = capsys.readouterr().out
    assert "* hey bramble" in out and "  hey jarvis" in out
    mine = tmp_path / "Models" / "Bramble.onnx"  # a model file, named by its path: kept as typed, not lower-cased
    mine.parent.mkdir()
    mine.write_bytes((store.root(paths) / "hey_bramble" / store.MODEL).read_bytes())
    assert main(["wakeword", "use", str(mine)]) == 0
    assert config.load(paths.config).wake.wake_word == str(mine)


def test_add_samples_refuses_bad_files_with_reasons(tmp_path, capsys, paths):
    install("hey bramble")
    store.activate(paths, "hey bramble")
    silent = tmp_path / "silent.wav"
    from earmuff.audio.files import write_wav

    write_wav(silent, np.zeros(16000, np.float32))
    (tmp_path / "junk.wav").write_bytes(b"RIFF not really")
    assert main(["wakeword", "add-samples", str(silent), str(tmp_path / "junk.wav"), "--no-retrain"]) == 2
    err = capsys.readouterr().err
    assert f"refused: {silent}: too quiet" in err and "junk.wav: cannot be decoded" in err


def fake_result(phrase):
    return TrainResult(tiny_model(), {"phrase": phrase, "language": "en-us", "threshold": 0.5})


def test_ctrl_c_during_training_keeps_the_previous_wake_word(monkeypatch, capsys, paths):
    install("hey bramble", seed=1)
    store.activate(paths, "hey bramble")

    def interrupted(opts, cfg):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_mod, "train", interrupted)
    monkeypatch.setattr(memory, "available_mb", lambda: 200.0)  # a Zero 2 W with too much else running
    assert main(["wakeword", "set", "hey teapot"]) == 130
    err = capsys.readouterr().err
    assert "warning: training needs about 250 MB of memory and 200 MB is available" in err
    assert "--export FILE" in err
    assert "'hey bramble' stays active" in err
    assert config.load(paths.config).wake.wake_word == "hey bramble" and store.names(paths) == ["hey bramble"]


def test_disk_full_while_saving_keeps_the_previous_model(monkeypatch, paths):
    install("hey bramble", seed=1)
    store.activate(paths, "hey bramble")

    def full(model, path, name):
        path.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(publish_mod, "to_onnx", full)
    with pytest.raises(WakeWordError, match="the disk is full.*previous wake word stays active"):
        publish_mod.publish(paths, fake_result("hey bramble"))
    assert store.info(paths, "hey bramble")["seed"] == 1
    assert config.load(paths.config).wake.wake_word == "hey bramble"
    assert len(list(store.root(paths).glob(".v-*"))) == 1  # the partial version was removed


def test_disk_full_while_selecting_keeps_the_new_model_and_the_old_config(monkeypatch, paths):
    install("hey bramble", seed=1)
    store.activate(paths, "hey bramble")

    def full(path, data, mode=0o644):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(config, "atomic_write", full)  # config.toml cannot be rewritten
    with pytest.raises(WakeWordError, match=r"installed, but config.toml could not be updated \(the disk is full\)"):
        publish_mod.publish(paths, fake_result("hey teapot"))
    assert config.load(paths.config).wake.wake_word == "hey bramble"
    assert store.info(paths, "hey teapot")["phrase"] == "hey teapot"  # installed and complete, not half removed


def test_training_offers_itself_to_the_oom_killer_before_the_daemon(earmuff_home):
    from earmuff.wakeword.train import worker

    assert main(["wakeword", "set", ""]) == 2  # fails at once, in its training child
    assert worker.run(lambda: Path("/proc/self/oom_score_adj").read_text().strip()) == "1000"


def test_remove_deletes_the_owners_recordings_and_windows_of_that_word_only(capsys, paths):
    from earmuff.wakeword.registry import room_bank, samples

    take = (0.1 * np.sin(np.arange(16000) * 0.05)).astype(np.float32)
    for phrase in ("hey bramble", "hey teapot"):
        install(phrase)
        samples.save(paths, phrase, take)
    room_bank.add(paths, np.ones((3, 16, 96), np.float16), limit=100, kind=room_bank.positive_kind("hey bramble"))
    room_bank.add(paths, np.ones((4, 16, 96), np.float16), limit=100)  # the room's talk: not the owner's, kept
    assert main(["wakeword", "remove", "Hey Bramble"]) == 0
    assert "removed 'hey bramble', 1 recordings of your voice saying it and 3 windows" in capsys.readouterr().out
    assert samples.load_all(paths, "hey bramble") == [] and len(samples.load_all(paths, "hey teapot")) == 1
    assert room_bank.count(paths, room_bank.positive_kind("hey bramble")) == 0 and room_bank.count(paths) == 4
    assert store.names(paths) == ["hey teapot"]


def test_test_on_a_file_shows_the_meter_and_where_it_fired(tmp_path, capsys):
    from audiolib import synth

    clip = synth(tmp_path / "name.wav", "hey jarvis", "flite", "kal16")
    other = synth(tmp_path / "other.wav", "what a lovely morning", "flite", "kal16")
    assert main(["wakeword", "test", "--file", str(clip)]) == 0
    out = capsys.readouterr().out
    assert "FIRE" in out and f"{clip}: best score 0.9" in out and "detections at [1." in out
    assert main(["wakeword", "test", "--file", str(other)]) == 0
    out = capsys.readouterr().out
    assert "FIRE" not in out and "detections at []" in out


def test_a_training_that_used_a_room_bank_forgotten_meanwhile_installs_nothing(monkeypatch, capsys, paths):
    from earmuff.wakeword.registry import room_bank

    room_bank.add(paths, np.zeros((3, 16, 96), np.float16), limit=100)

    def forgotten_meanwhile(opts, cfg):
        assert sum(len(c) for c in opts.extra_negatives) == 3  # it read the bank
        room_bank.forget(paths)  # `earmuff wakeword forget-room` while it trains
        return fake_result("hey bramble")

    monkeypatch.setattr(train_mod, "train", forgotten_meanwhile)
    assert main(["wakeword", "set", "hey bramble"]) == 2
    assert "the room bank was forgotten while this training used it; nothing was installed" in capsys.readouterr().err
    assert store.names(paths) == [] and config.load(paths.config).wake.wake_word == "hey jarvis"


@pytest.mark.parametrize("false_accepts, above", [(0, False), (1, False), (3, True)])
def test_set_says_when_the_threshold_could_not_meet_the_false_accepts_aimed_at(false_accepts, above):
    from earmuff.cli.wakeword_train import quality

    hours = 1.6
    v = {
        "recall": 0.8,
        "positive_utterances": 40,
        "false_accepts": false_accepts,
        "negative_hours": hours,
        "recorded_speech_hours": 1.54,
        "false_accepts_per_hour": round(false_accepts / hours, 2),
        "target_per_hour": 0.65,
    }
    said = quality({"threshold": 0.9895, "validation": v})
    assert "92 min of it recorded people" in said and "threshold 0.9895" in said
    assert ("above the 0.65/h aimed at" in said) == above
