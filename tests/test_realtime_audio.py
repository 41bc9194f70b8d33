"""A real-time full-duplex PortAudio stream against a PulseAudio null sink, and `earmuff run` on it."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from pulselib import SinkRecorder, quiet_spans

pytestmark = pytest.mark.realtime


def earmuff(env, *args, **kw):
    kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(
        [sys.executable, "-m", "earmuff", *args],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        **kw,
    )


def test_run_plays_noise_in_real_time_and_stops_cleanly(pulse, earmuff_home, tmp_path):
    env = dict(pulse, EARMUFF_HOME=str(earmuff_home))
    log = tmp_path / "run.log"
    with open(log, "w") as err_file:
        proc = earmuff(env, "run", stderr=err_file)
    try:
        deadline = time.monotonic() + 180  # loading the wake word took 51 s on a busy machine
        while "listening for" not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        rec = SinkRecorder(env, tmp_path / "rec.raw")
        time.sleep(4.0)
        x = rec.stop()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    err = log.read_text()
    assert proc.returncode == 0, err
    assert "jamming; listening for 'hey jarvis'" in err
    assert len(x) > 2 * 16000  # most of the four seconds arrived: the stream keeps real time
    level = 10 * np.log10(np.mean(x[-16000:] ** 2, axis=0))
    assert np.all(np.abs(level - (-20.0)) < 3.0), level  # the configured -20 dBFS on both channels
    assert abs(np.corrcoef(x[-16000:, 0], x[-16000:, 1])[0, 1]) < 0.1  # independent noise per speaker
    assert not quiet_spans(x)  # no silent gap (a busy machine may drop the listener's blocks: never the noise)


def test_run_with_an_unknown_device_lists_what_exists(pulse, earmuff_home):
    env = dict(pulse, EARMUFF_HOME=str(earmuff_home))
    proc = earmuff(env, "run", "--input", "no-such-card")
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 2
    assert "input device 'no-such-card': none found" in err and "Devices found:" in err and "pulse" in err
    assert "Traceback" not in err
    assert "attached to the audio process" not in err  # no shared memory before the devices are found
