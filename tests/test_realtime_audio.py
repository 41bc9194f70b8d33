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


PLAY_RAMP = """
import sys, time
import numpy as np
import sounddevice as sd
n = [0]
def callback(mic, out, frames, t, status):
    out[:] = (0.05 + (np.arange(n[0], n[0] + frames) % 16000) / 16000 * 0.4)[:, np.newaxis]  # never 0
    n[0] += frames
with sd.Stream(samplerate=16000, blocksize=640, channels=(1, 2), dtype="float32", callback=callback):
    time.sleep(float(sys.argv[1]))
"""


@pytest.mark.realtime
def test_the_test_sinks_monitor_holds_each_played_sample_once(pulse, tmp_path):
    """What every real-time test judges, and what the listener hears: a ramp played through PortAudio, as the audio
    process plays, comes back from the monitor without a block twice or out of order (a rewinding sink did that)."""
    player = subprocess.Popen([sys.executable, "-c", PLAY_RAMP, "8"], env=pulse)
    time.sleep(2.0)
    rec = SinkRecorder(pulse, tmp_path / "rec.raw")
    for _ in range(4):  # other clients come and go, as PortAudio's device queries do
        subprocess.run([sys.executable, "-c", "import sounddevice; sounddevice.query_devices()"], env=pulse, check=True)
        time.sleep(1.0)
    x = rec.stop()[:, 0]
    assert player.wait(30) == 0
    x = x[x != 0]  # the ramp's own samples; an underrun's silence is not a reordering
    step = np.diff(x)
    jumps = np.flatnonzero((np.abs(step - 0.4 / 16000) > 0.002) & (step > -0.39))  # -0.4: the ramp wrapping
    assert len(x) > 3 * 16000 and len(jumps) == 0, (len(x), jumps[:10])
