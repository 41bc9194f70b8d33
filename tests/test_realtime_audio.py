"""A real-time full-duplex PortAudio stream against a PulseAudio null sink, and `earmuff run` on it."""

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(shutil.which("pulseaudio") is None, reason="pulseaudio is not installed (scripts/setup.sh --test installs it)")


@pytest.fixture
def pulse(tmp_path):
    """A private PulseAudio daemon whose null sink 'jam' plays back into its monitor source, in real time."""
    run = tmp_path / "pulse"
    run.mkdir()
    (run / "default.pa").write_text(
        "load-module module-null-sink sink_name=jam rate=16000 channels=2\n"
        "set-default-sink jam\nset-default-source jam.monitor\n"
        f"load-module module-native-protocol-unix auth-anonymous=1 socket={run}/pulse.sock\n"
    )
    (run / ".asoundrc").write_text("pcm.!default { type pulse }\nctl.!default { type pulse }\n")
    env = dict(os.environ, HOME=str(run), XDG_RUNTIME_DIR=str(run), PULSE_SERVER=f"unix:{run}/pulse.sock")
    daemon = subprocess.Popen(
        ["pulseaudio", "-n", "-F", str(run / "default.pa"), "--exit-idle-time=-1", "--daemonize=no"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        if (run / "pulse.sock").exists():
            break
        time.sleep(0.05)
    else:
        daemon.kill()
        pytest.fail("pulseaudio did not start")
    yield env
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(10)


def earmuff(env, *args, **kw):
    return subprocess.Popen([sys.executable, "-m", "earmuff", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_run_plays_noise_in_real_time_and_stops_cleanly(pulse, earmuff_home, tmp_path):
    env = dict(pulse, EARMUFF_HOME=str(earmuff_home))
    proc = earmuff(env, "run")
    try:
        time.sleep(3.0)  # model loading, then the stream runs
        rec = subprocess.Popen(["parec", "-d", "jam.monitor", "--rate=16000", "--channels=2", "--format=s16le",
                                "--latency-msec=20", str(tmp_path / "rec.raw")], env=env)
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
