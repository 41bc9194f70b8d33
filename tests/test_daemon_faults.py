"""Faults injected into the real daemon on the real-time PulseAudio null sink, and random event sequences
driving the real Device: the noise never stops outside a command window or an owner's pause."""

import os
import re
import signal
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import daemonlib
from earmuff.config import Config, WindowConfig
from earmuff.runtime.device import Device, JamOnly
from earmuff.runtime.noise_gate import TRIGGER_START
from earmuff.runtime.state_machine import MAX_PAUSE_S
from earmuff.service.control import request
from pulselib import SinkRecorder, quiet_spans

LEASE_S = 0.4


def status(home):
    return request(home / "control.sock", "status", timeout=10)


@pytest.mark.realtime
def test_detector_raising_then_hanging_never_stops_the_noise(pulse, earmuff_home, tmp_path):
    faults = [
        {"kind": "detector_raise", "at_s": 6.0, "duration_s": 4.0},  # seconds of audio since the start
        {"kind": "detector_hang", "at_s": 12.0, "duration_s": 4.0},
    ]
    proc = daemonlib.start(pulse, earmuff_home, faults)
    try:
        daemonlib.wait_ready(earmuff_home)
        rec = SinkRecorder(pulse, tmp_path / "rec.raw")
        seen = set()
        while "fault kind=detector_hang" not in (earmuff_home / "daemon.log").read_text():
            time.sleep(0.5)
        hang = time.monotonic()
        while time.monotonic() - hang < 6.0:
            s = status(earmuff_home)
            seen.add((s["state"], s["fault"]))
            time.sleep(0.5)
        x = rec.stop()
        s = status(earmuff_home)
    finally:
        code = daemonlib.stop(proc)
    assert code == 0
    assert len(x) > 8 * 16000
    assert daemonlib.without_underruns(quiet_spans(x), (earmuff_home / "daemon.log").read_text()) == []
    assert s["detector_errors"] >= 40 and s["state"] == "jamming" and s["fault"] is None
    assert ("fault", "worker stalled") in seen, seen  # the hang was reported while it lasted


@pytest.mark.realtime
def test_worker_seconds_behind_during_a_pause_brings_the_noise_back_within_a_lease(pulse, earmuff_home, tmp_path):
    stall_at = 14.0
    proc = daemonlib.start(pulse, earmuff_home, [{"kind": "worker_stall", "at_s": stall_at, "duration_s": 4.0}])
    try:
        daemonlib.wait_ready(earmuff_home)
        rec = SinkRecorder(pulse, tmp_path / "rec.raw")
        time.sleep(1.0)
        assert request(earmuff_home / "control.sock", "pause", minutes=30)["ok"]
        while "fault kind=worker_stall" not in (earmuff_home / "daemon.log").read_text():
            time.sleep(0.2)
        time.sleep(5.0)
        x = rec.stop()
    finally:
        daemonlib.stop(proc)
    log = (earmuff_home / "daemon.log").read_text()
    paused_at = float(re.search(r"INFO earmuff: ([0-9.]+) s paused", log).group(1))
    assert paused_at < stall_at - 2, log
    spans = daemonlib.without_underruns(quiet_spans(x), log)  # like the other real-time tests
    assert len(spans) == 1, spans
    ((a, b),) = spans
    # The pause lasted from its start until one lease after the worker's last frame before the stall.
    assert b - a <= stall_at - paused_at + LEASE_S + 0.1, (spans, paused_at)
    assert b - a >= stall_at - paused_at - 0.3, (spans, paused_at)
    assert "jam_on window=1 reason=lease_expired" in log


@pytest.mark.realtime
def test_restarts_config_and_model_garbage_and_underruns(pulse, earmuff_home, tmp_path):
    """Two supervisor loops stand in for systemd's Restart=always on the two units; the sink shows every silent gap."""
    import shutil

    from earmuff.runtime.detector import pretrained_dir

    model = earmuff_home / "my_word.tflite"
    shutil.copy(pretrained_dir() / "hey_jarvis.tflite", model)
    (earmuff_home / "config.toml").write_text(f'[noise]\nlevel_dbfs = -24.0\n[wake]\nwake_word = "{model}"\n')
    rec = SinkRecorder(pulse, tmp_path / "rec.raw")
    marks = {}
    audio = daemonlib.Supervisor(pulse, earmuff_home, command="audio", name="audio")
    sup = daemonlib.Supervisor(pulse, earmuff_home, command="listen")
    sock = earmuff_home / "control.sock"
    try:
        daemonlib.wait_ready(earmuff_home)
        time.sleep(1.0)
        marks["ready"] = marks["stop"] = rec.now()
        # 1. an underrun: the audio process gets no CPU for 0.3 s
        os.kill(audio.proc.pid, signal.SIGSTOP)
        time.sleep(0.3)
        os.kill(audio.proc.pid, signal.SIGCONT)
        time.sleep(3.0)
        # 2. config and model replaced by garbage while running: nothing changes; reload refuses
        (earmuff_home / "config.toml").write_text("[noise\nlevel_dbfs = ")
        assert request(sock, "reload")["ok"] is False
        (earmuff_home / "config.toml").write_text(f'[noise]\nlevel_dbfs = -24.0\n[wake]\nwake_word = "{model}"\n')
        model.write_bytes(os.urandom(5000))
        time.sleep(1.0)
        reply = request(sock, "reload")
        assert (
            reply["ok"] is False
            and "cannot be loaded" in reply["error"]
            and "kept the running config" in reply["error"]
        )
        (earmuff_home / "config.toml").write_text("garbage = [")
        time.sleep(1.0)
        assert sup.starts == 1 and audio.starts == 1, sup.log(1)  # none of it stopped either process
        # 3. the listener SIGKILLed; restarted, it finds garbage config and garbage model
        marks["kill"] = rec.now()
        sup.proc.kill()
        while sup.starts < 2 or not _answers(earmuff_home) or "jamming without a wake word" not in sup.log(2):
            time.sleep(0.05)
        s2 = status(earmuff_home)
        # 4. SIGTERM to the listener (systemctl restart earmuff-listener, an upgrade): a clean stop, started again
        marks["term"] = rec.now()
        sup.proc.terminate()
        while sup.starts < 3:
            time.sleep(0.05)
        time.sleep(4.0)
        x = rec.stop()
    finally:
        sup.stop()
        audio.stop()
    print("marks", marks, "exits", sup.exits)
    assert sup.exits == [-9, 0] and audio.exits == [], (sup.exits, audio.exits)
    log2 = sup.log(2)
    assert "using the last good config" in log2 and "jamming without a wake word" in log2, log2
    assert s2["state"] == "fault" and "cannot be loaded" in s2["fault"] and s2["restarts"] >= 1
    assert s2["noise_level_dbfs"] == -24.0  # the last good config's
    start = marks["ready"]
    spans = [(a + start, b + start) for a, b in quiet_spans(x[int(start * 16000) :])]
    print("quiet spans", spans)
    stop = [(a, b) for a, b in spans if marks["stop"] - 0.1 < a < marks["stop"] + 0.5][:1]
    assert stop, (spans, marks)  # the frozen audio process: an underrun, then noise again
    spans.remove(stop[0])
    print("underrun gap on the sink (s):", round(stop[0][1] - stop[0][0], 2), "other quiet spans:", spans)
    # Listener SIGKILL and SIGTERM: not one quiet block (a short one only where the backend reported an underrun).
    assert daemonlib.without_underruns(spans, audio.logs() + sup.logs()) == [], (spans, marks)
    assert stop[0][1] - stop[0][0] <= 0.35, stop


def _answers(home) -> bool:
    try:
        status(home)
        return True
    except Exception:
        return False


# --- random event sequences through the real Device (callback + worker run in step here) ---------------

MIC_QUIET = (np.random.default_rng(1).standard_normal(320) * 1e-5).astype(np.float32)
MIC_VOICE = (np.random.default_rng(2).standard_normal(320) * 0.05).astype(np.float32)
CFG = Config(window=WindowConfig(max_s=4.0, quiet_s=0.6, lease_s=0.4, pre_roll_s=0.2))
event = st.one_of(
    st.tuples(st.just("run"), st.integers(1, 120), st.booleans()),  # blocks with the worker keeping up; voice?
    st.tuples(st.just("stall"), st.integers(1, 150), st.booleans()),  # blocks the worker misses (up to 3 s)
    st.tuples(st.just("wake"), st.just(0), st.just(False)),  # the button (same sequence as the wake word)
    st.tuples(st.just("pause"), st.integers(1, 3), st.just(False)),  # seconds
    st.tuples(st.just("toggle_pause"), st.integers(1, 3), st.just(False)),
    st.tuples(st.just("resume"), st.just(0), st.just(False)),
)


@pytest.fixture(scope="module")
def device():
    return Device(CFG, lambda *a, **k: None, detector=JamOnly(), max_block=320)


@pytest.mark.sim
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(event, max_size=40))
def test_random_sequences_keep_the_promise(steps):
    """Noise in every block outside a window or a pause; windows within max_s, pauses within their request."""
    dev = Device(CFG, lambda *a, **k: None, detector=JamOnly(), max_block=320)
    gate, machine, out = dev.gate, dev.machine, np.zeros((320, 2), np.float32)
    limit: dict[int, float] = {}  # the state machine's window number -> longest it may keep the noise off, s
    first_open: dict[int, int] = {}
    pause_len, pauses, spoken = 0.0, set(), set()
    for kind, n, voice in steps:
        if kind in ("pause", "toggle_pause"):
            pause_len = float(n)
            dev.requests.put((kind, float(n)))
        elif kind in ("wake", "resume"):
            dev.requests.put((kind, 0.0))
        for _ in range(n if kind in ("run", "stall") else 4):
            before = gate.events_written
            dev.callback(MIC_VOICE if voice else MIC_QUIET, out)
            spoken.update(
                int(gate.events[i % 256][2])
                for i in range(before, gate.events_written)
                if gate.events[i % 256][1] == TRIGGER_START
            )
            if machine.paused:
                pauses.add(machine.window)
            if gate.is_open:
                w = machine.window
                first_open.setdefault(w, gate.counter - 320)
                allowed = limit.setdefault(w, pause_len if machine.paused else CFG.window.max_s)
                assert (gate.counter - first_open[w]) / 16000 <= allowed + 0.05, (w, allowed)
            elif gate.gain == 1.0:
                assert np.sqrt(np.mean(out**2)) > 10 ** (-45 / 20)  # noise (not silence) once the ramp is done
            if kind != "stall":
                while dev.work():
                    pass
    assert not spoken & pauses, (spoken, pauses)  # a pause never says "Alexa"
    assert MAX_PAUSE_S == 3600.0


# --- a bad config file at start-up -----------------------------------------------------------------------


@pytest.mark.unit
def test_bad_config_at_start_falls_back_to_the_last_good_copy_and_says_so(earmuff_home, paths):
    from earmuff import config

    path = earmuff_home / "config.toml"
    path.write_text("[noise]\nlevel_dbfs = -30.0\n")
    cfg, note = config.load_or_last_good(paths)
    assert cfg.noise.level_dbfs == -30.0 and note is None
    assert paths.last_good.read_text() == path.read_text()
    assert [p.name for p in earmuff_home.iterdir() if p.name.startswith(".")] == []  # no temp file left
    path.write_text("[noise]\nlevel_dbfs = 'very loud'\n")
    cfg, note = config.load_or_last_good(paths)
    assert cfg.noise.level_dbfs == -30.0
    assert note == (
        f"{path}: noise.level_dbfs = 'very loud': expected a float; using the last good config {paths.last_good}"
    )
    assert "very loud" not in paths.last_good.read_text()  # a bad file never becomes the last good one


@pytest.mark.unit
def test_bad_config_without_a_last_good_copy_uses_the_defaults(earmuff_home, paths):
    from earmuff import config

    (earmuff_home / "config.toml").write_bytes(b"\xff\xfe garbage")
    cfg, note = config.load_or_last_good(paths)
    assert cfg == config.Config()
    assert "not valid TOML" in note and "using the built-in defaults (no usable last good config" in note
