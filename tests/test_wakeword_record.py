"""`earmuff wakeword record` and `test`: they listen while the noise plays on, through the daemon if it runs."""

import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import daemonlib
from audiolib import synth
from earmuff.audio.files import read_audio
from earmuff.cli.main import main
from earmuff.config import SAMPLE_RATE
from earmuff.service import commands, recorder
from earmuff.service.control import request
from earmuff.service.recorder import decode_take
from earmuff.wakeword.registry import samples
from pulselib import SinkRecorder, quiet_spans
from wakewordlib import install


def levels_db(x: np.ndarray, block: int = SAMPLE_RATE // 10) -> np.ndarray:
    """Level of each 100 ms block in dBFS."""
    n = len(x) // block * block
    return 10 * np.log10(np.mean(x[:n].reshape(-1, block) ** 2, axis=1) + 1e-12)


@pytest.mark.realtime
def test_daemon_records_a_take_without_detecting_the_name_in_it(pulse, earmuff_home, tmp_path, capsys):
    clip = synth(tmp_path / "name.wav", "hey jarvis", "flite", "kal16")  # fires the built-in, active "hey jarvis"
    sock = earmuff_home / "control.sock"
    # Quiet noise: this test is about the take and the detector, not about echo cancellation, which on a
    # loaded machine's PulseAudio loop can lose its alignment after an underrun and leave a loud residual.
    (earmuff_home / "config.toml").write_text("[noise]\nlevel_dbfs = -50.0\nquiet_level_dbfs = -50.0\n")
    proc = daemonlib.start(pulse, earmuff_home)
    try:
        daemonlib.wait_ready(earmuff_home)
        time.sleep(1.0)
        reply = {}
        listen = threading.Thread(target=lambda: reply.update(request(sock, "listen", timeout=20, seconds=3.0)))
        listen.start()
        time.sleep(0.3)
        subprocess.run(["paplay", "-d", "jam", str(clip)], env=pulse, check=True)
        listen.join(20)
        status = request(sock, "status")
        assert reply["ok"] and status["detections"] == 0 and status["state"] == "jamming", (reply.get("error"), status)
        db = levels_db(decode_take(reply["audio"]))
        assert len(db) == 30 and db.max() - np.median(db) > 10, db.round()  # the name is in the take, over the residual
        # The live meter listens the same way: it shows the name firing, and the daemon opens no window.
        capsys.readouterr()
        meter = threading.Thread(target=main, args=(["wakeword", "test", "--seconds", "3"],))
        meter.start()
        time.sleep(0.5)
        subprocess.run(["paplay", "-d", "jam", str(clip)], env=pulse, check=True)
        meter.join(30)
        assert "FIRE" in capsys.readouterr().out and request(sock, "status")["detections"] == 0
        # The same clip outside a take (and the 2 s after one) fires: the window opens.
        time.sleep(commands.ENROLL_HOLD_S + 0.5)
        subprocess.run(["paplay", "-d", "jam", str(clip)], env=pulse, check=True)
        deadline = time.monotonic() + 3.0
        while request(sock, "status")["detections"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert request(sock, "status")["detections"] == 1
        assert (
            request(sock, "listen", seconds=11)["error"] == "seconds = 11: expected a number above 0 and at most 10.0"
        )
        assert request(sock, "listen", seconds=1, since=-1)["error"].startswith(
            "since = -1: expected a sample number from "
        )
        huge = request(sock, "listen", seconds=1, since=10**18)["error"]  # answered at once, not after waiting for it
        assert huge.startswith(f"since = {10**18}: expected a sample number from "), huge
        # `use` switches the running daemon, and says so.
        install("hey bramble")
        capsys.readouterr()
        assert main(["wakeword", "use", "hey bramble"]) == 0
        assert "'hey bramble' is now the wake word; the running earmuff switched to it" in capsys.readouterr().out
        assert request(sock, "status")["wake_word"] == "hey bramble"
        # `forget-room` goes through the daemon too, which also drops the windows it holds.
        assert main(["wakeword", "forget-room"]) == 0
        assert "and what was not yet in it" in capsys.readouterr().out
    finally:
        daemonlib.stop(proc)


@pytest.mark.realtime
def test_without_a_daemon_the_meter_jams_itself_and_hears_through_its_noise(pulse, earmuff_home, tmp_path):
    clip = synth(tmp_path / "name.wav", "hey jarvis", "flite", "kal16")
    (earmuff_home / "config.toml").write_text("[noise]\nlevel_dbfs = -50.0\nquiet_level_dbfs = -50.0\n")
    rec = SinkRecorder(pulse, tmp_path / "rec.raw")
    meter = subprocess.Popen(
        [sys.executable, "-m", "earmuff", "wakeword", "test", "--seconds", "4"],
        env=dict(pulse, EARMUFF_HOME=str(earmuff_home)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in meter.stderr:  # started, jamming, its echo canceller settled
        if "listening for" in line:
            break
    time.sleep(0.3)
    started = rec.now()
    subprocess.run(["paplay", "-d", "jam", str(clip)], env=pulse, check=True)
    ended = rec.now()
    out, err = meter.communicate(timeout=30)
    x = rec.stop()
    assert meter.returncode == 0 and "FIRE" in out, err
    assert [s for s in quiet_spans(x, floor_dbfs=-70.0) if s[0] <= ended and s[1] >= started] == []  # its noise played


class FileTakes:
    """The microphone's stand-in: each take is the next file's audio, in the middle of 3 s of quiet."""

    def __init__(self, clips):
        self.clips = list(clips)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def take(self):
        x = np.full(int(recorder.TAKE_S * SAMPLE_RATE), 1e-4, np.float32)
        clip = self.clips.pop(0)
        x[SAMPLE_RATE // 2 : SAMPLE_RATE // 2 + len(clip)] += clip
        return x


@pytest.mark.unit
def test_record_asks_again_for_a_refused_take_and_keeps_the_rest(monkeypatch, tmp_path, capsys, paths):
    install("hey bramble")
    name = read_audio(synth(tmp_path / "name.wav", "hey bramble", "flite", "kal16"))
    quiet = np.zeros(SAMPLE_RATE, np.float32)
    monkeypatch.setattr(recorder, "open_takes", lambda _: FileTakes([quiet, name, quiet, name]))
    assert main(["wakeword", "record", "--name", "hey bramble", "--takes", "2", "--no-retrain"]) == 0
    captured = capsys.readouterr()
    assert (
        captured.err.count("refused: take 1: too quiet") == 1 and captured.err.count("refused: take 2: too quiet") == 1
    )
    assert "once more, please" in captured.err and "kept 2 of 2 takes (4 tried)" in captured.out
    assert len(samples.load_all(paths, "hey bramble")) == 2


@pytest.mark.unit
def test_record_gives_up_after_three_times_the_takes(monkeypatch, capsys, paths):
    install("hey bramble")
    monkeypatch.setattr(recorder, "open_takes", lambda _: FileTakes([np.zeros(SAMPLE_RATE, np.float32)] * 3))
    assert main(["wakeword", "record", "--name", "hey bramble", "--takes", "1", "--no-retrain"]) == 2
    assert "kept 0 of 1 takes (3 tried)" in capsys.readouterr().out
    assert samples.load_all(paths, "hey bramble") == []
