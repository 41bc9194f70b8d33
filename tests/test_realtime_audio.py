"""A real-time full-duplex PortAudio stream against a PulseAudio null sink, and `earmuff run` on it."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = pytest.mark.realtime


def earmuff(env, *args, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "earmuff", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def test_run_plays_noise_in_real_time_and_stops_cleanly(pulse, earmuff_home, tmp_path):
    env = dict(pulse, EARMUFF_HOME=str(earmuff_home))
    proc = earmuff(env, "run")
    try:
        time.sleep(3.0)  # model loading, then the stream runs
        rec = subprocess.Popen(
            [
                "parec",
                "-d",
                "jam.monitor",
                "--rate=16000",
                "--channels=2",
                "--format=s16le",
                "--latency-msec=20",
                str(tmp_path / "rec.raw"),
            ],
            env=env,
        )
        time.sleep(4.0)
        rec.send_signal(signal.SIGINT)
        rec.wait(10)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "jamming; listening for 'hey jarvis'" in err
    x = np.fromfile(tmp_path / "rec.raw", np.int16).reshape(-1, 2) / 32768.0
    assert len(x) > 2 * 16000  # most of the four seconds arrived: the stream keeps real time
    level = 10 * np.log10(np.mean(x[-16000:] ** 2, axis=0))
    assert np.all(np.abs(level - (-20.0)) < 3.0), level  # the configured -20 dBFS on both channels
    assert abs(np.corrcoef(x[-16000:, 0], x[-16000:, 1])[0, 1]) < 0.1  # independent noise per speaker
    assert "dropped_blocks': 0" in err


def test_run_with_an_unknown_device_lists_what_exists(pulse, earmuff_home):
    env = dict(pulse, EARMUFF_HOME=str(earmuff_home))
    proc = earmuff(env, "run", "--input", "no-such-card")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "input device 'no-such-card': none found" in err and "Devices found:" in err and "pulse" in err
    assert "Traceback" not in err
    assert "attached to the audio process" not in err  # no shared memory before the devices are found
