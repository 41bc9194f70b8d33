"""The audio process and the listener on the real-time PulseAudio null sink: whatever happens to the listener,
and whatever the shared memory holds, the smart speaker's microphone never loses the noise outside a window.

Supervisor loops stand in for systemd's Restart=always on earmuff.service, earmuff-standby.service (two
`earmuff audio --standby`: one plays, one waits to take over) and earmuff-listener.service.
The sink's monitor is recorded; every 20 ms block below -50 dBFS is a quiet block (`pulselib.quiet_spans`).
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import daemonlib
from earmuff.paths import Paths
from earmuff.runtime.shared import SharedAudio, shm_path
from earmuff.service import listener as listener_mod
from earmuff.service.control import request
from pulselib import SinkRecorder, quiet_spans

pytestmark = pytest.mark.realtime


LEASE_S = 0.4


class Device:
    """The supervised processes of one device."""

    def __init__(self, env: dict, home) -> None:
        self.audio = daemonlib.Supervisor(env, home, restart_s=0.1, command="audio --standby", name="audio")
        self.standby = daemonlib.Supervisor(env, home, restart_s=0.1, command="audio --standby", name="standby")
        self.listener = daemonlib.Supervisor(env, home, command="listen")

    def playing(self) -> int:
        """The pid of the audio process that plays now."""
        return SharedAudio.attach(shm_path(Paths.from_env())).audio_pid

    def logs(self) -> str:
        return self.audio.logs() + self.standby.logs() + self.listener.logs()

    def stop(self) -> None:
        self.listener.stop()
        self.standby.stop()
        self.audio.stop()


@pytest.fixture
def device(pulse, earmuff_home):
    """Audio processes and listener under their own supervisors, the listener ready."""
    dev = Device(pulse, earmuff_home)
    try:
        daemonlib.wait_ready(earmuff_home)
        wait_for(lambda: "standing by" in dev.audio.logs() + dev.standby.logs(), "a standby")
        yield dev
    finally:
        dev.stop()


def answers(home) -> bool:
    try:
        return request(home / "control.sock", "status", timeout=5)["ok"]
    except Exception:
        return False


def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    """Poll `condition` until it holds; fail naming `what` if it never does (a behaviour, not a time limit)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def restarted(sup, home, n: int) -> None:
    """Wait until the listener's n-th start answers on the control socket."""
    wait_for(lambda: sup.starts >= n and answers(home), f"listener start {n} answering")


def silences(x: np.ndarray, *sups) -> list[tuple[float, float]]:
    """Quiet spans on the sink, less those the audio backend reported as underruns of a loaded machine."""
    return daemonlib.without_underruns(quiet_spans(x), "".join(s.logs() for s in sups if s is not None))


def test_listener_kill_hang_crash_loop_term_and_reload_never_silence_the_sink(device, pulse, earmuff_home, tmp_path):
    listener = device.listener
    rec = SinkRecorder(pulse, tmp_path / "rec.raw")
    time.sleep(1.0)
    listener.proc.kill()  # a crash
    restarted(listener, earmuff_home, 2)
    os.kill(listener.proc.pid, signal.SIGSTOP)  # a hang (systemd's watchdog would kill it after WatchdogSec)
    time.sleep(3.0)
    os.kill(listener.proc.pid, signal.SIGCONT)
    wait_for(lambda: answers(earmuff_home), "the resumed listener answering")
    for n in (3, 4, 5):  # a crash loop: killed while it starts, three times over
        listener.proc.kill()
        wait_for(lambda: listener.starts >= n, f"listener start {n}")
        time.sleep(0.3)
    listener.proc.kill()
    restarted(listener, earmuff_home, 6)
    listener.proc.terminate()  # systemctl restart earmuff-listener, e.g. after an upgrade
    restarted(listener, earmuff_home, 7)
    reply = request(earmuff_home / "control.sock", "reload", timeout=60)
    assert reply["ok"], reply
    time.sleep(1.0)
    x = rec.stop()
    assert device.audio.exits == device.standby.exits == [], device.logs()  # the noise processes never went away
    assert listener.exits == [-9, -9, -9, -9, -9, 0], listener.exits
    assert len(x) > 5 * 16000  # the recording spans the whole sequence
    assert silences(x, device) == [], quiet_spans(x)
    log = listener.logs()
    assert log.count("attached to the audio process") >= 3 and "reloaded" in log


def test_listener_killed_in_a_pause_brings_the_noise_back_within_a_lease(device, pulse, earmuff_home, tmp_path):
    listener = device.listener
    rec = SinkRecorder(pulse, tmp_path / "rec.raw")
    time.sleep(1.0)
    asked = rec.now()
    assert request(earmuff_home / "control.sock", "pause", minutes=30)["ok"]
    time.sleep(2.0)
    killed = rec.now()
    listener.proc.kill()
    restarted(listener, earmuff_home, 2)
    time.sleep(2.0)
    x = rec.stop()
    spans = silences(x, device)
    assert len(spans) == 1, spans  # the pause, and no silence after it: the new listener does not reopen it
    ((a, b),) = spans
    print(f"pause {a:.2f}-{b:.2f} s; asked at {asked:.2f} s, listener killed at {killed:.2f} s")
    assert asked < a < killed and killed < b <= killed + LEASE_S + 0.15, (spans, asked, killed)


def test_audio_process_killed_the_standby_plays_and_the_listener_attaches_again(device, pulse, earmuff_home, tmp_path):
    rec = SinkRecorder(pulse, tmp_path / "rec.raw")
    time.sleep(1.0)
    killed_pid, killed = device.playing(), rec.now()
    os.kill(killed_pid, signal.SIGKILL)
    wait_for(lambda: "attaching again" in device.listener.log(1), "the listener noticing the new audio process")
    wait_for(lambda: device.audio.starts + device.standby.starts == 3, "the killed one started again")
    time.sleep(1.0)
    asked = rec.now()
    assert request(earmuff_home / "control.sock", "pause", minutes=10)["ok"]
    time.sleep(1.5)
    assert request(earmuff_home / "control.sock", "resume")["ok"]
    time.sleep(1.0)
    status = request(earmuff_home / "control.sock", "status")
    x = rec.stop()
    assert device.playing() != killed_pid
    assert device.audio.exits + device.standby.exits == [-9] and device.listener.starts == 1, device.logs()
    assert "the playing audio process died; taking over" in device.logs()
    spans = silences(x, device)
    print(
        "audio process SIGKILL, standby took over: silence",
        [round(b - a, 2) for a, b in spans if a < asked],
        "s",
        spans,
    )
    # At most a short gap where the audio process died, one for the pause the re-attached listener granted.
    gaps = [(a, b) for a, b in spans if a < asked]
    assert len(spans) - len(gaps) == 1 and asked < spans[-1][0], (spans, killed, asked)
    assert all(killed - 0.1 < a for a, b in gaps) and len(gaps) <= 1, (gaps, killed)
    assert status["state"] == "jamming" and status["restarts"] >= 1, status


def write_lease(shared: SharedAudio, seq: int, until: int, window: int) -> None:
    lease = shared.gate.lease
    lease[1], lease[2], lease[3] = until, window, 1
    lease[0] = seq


def test_stale_shared_memory_keeps_the_noise_on_and_a_new_listener_takes_over(pulse, earmuff_home, tmp_path, paths):
    audio = daemonlib.Supervisor(pulse, earmuff_home, restart_s=0.1, command="audio", name="audio")
    listener = None
    try:
        wait_for(
            lambda: (earmuff_home / "audio.shm").exists() and SharedAudio.attach(shm_path(paths)).gate.state[0] > 0,
            "the audio process playing",
        )
        shared = SharedAudio.attach(shm_path(paths))
        rec = SinkRecorder(pulse, tmp_path / "rec.raw")
        time.sleep(0.5)
        state, ring = shared.gate.state, shared.ring
        now, window = int(state[0]), int(state[2])
        write_lease(shared, 7, now + 16000, window + 1)  # a lease its writer died in the middle of (odd seq)
        time.sleep(1.0)
        now = int(state[0])
        write_lease(shared, 8, now + 10 * 16000, window + 1)  # a whole lease reaching 10 s ahead: corrupt
        time.sleep(1.0)
        write_lease(shared, 10, int(state[0]) - 16000, window + 2)  # a lease that ran out long ago
        shared.gate.level[0] = float("nan")  # a level no listener would write, under a level lease
        shared.gate.lease[4] = int(state[0]) + 16000
        ring.number[:] = -5  # blocks that look half-written
        ring.head[1] = ring.head[0] - 3
        time.sleep(1.0)
        assert int(state[1]) == 0 and int(state[5]) > 0  # closed, and noise really playing
        listener = daemonlib.Supervisor(pulse, earmuff_home, command="listen")
        daemonlib.wait_ready(earmuff_home)
        asked = rec.now()
        assert request(earmuff_home / "control.sock", "pause", minutes=10)["ok"]  # the new listener's lease works
        time.sleep(1.5)
        x = rec.stop()
    finally:
        if listener is not None:
            listener.stop()
        audio.stop()
    spans = silences(x, audio, listener)
    assert len(spans) == 1 and spans[0][0] > asked, (spans, asked)  # quiet only in the new listener's pause


def test_a_second_listener_or_audio_process_is_refused_and_changes_nothing(device, pulse, earmuff_home, tmp_path):
    listener, playing = device.listener, device.playing()
    rec = SinkRecorder(pulse, tmp_path / "rec.raw")
    env = dict(pulse, EARMUFF_HOME=str(earmuff_home))
    results = {}
    for command in ("listen", "run", "audio"):
        results[command] = subprocess.run(
            [sys.executable, "-m", "earmuff", command], env=env, capture_output=True, text=True, timeout=120
        )
    time.sleep(1.0)
    x = rec.stop()
    for command, what, pid in (
        ("listen", "listener", listener.proc.pid),
        ("run", "listener", listener.proc.pid),
        ("audio", "audio process", playing),
    ):
        r = results[command]
        assert r.returncode == 2, (command, r.stderr)
        assert f"earmuff: error: another earmuff {what} (pid {pid}) is already running" in r.stderr, (command, r.stderr)
        assert "Traceback" not in r.stderr
    assert device.audio.starts == device.standby.starts == listener.starts == 1 and answers(earmuff_home)
    assert silences(x, device) == [], quiet_spans(x)


def test_run_starts_both_survives_its_own_kill_and_ctrl_c_stops_both(pulse, earmuff_home, tmp_path, paths):
    env = dict(pulse, EARMUFF_HOME=str(earmuff_home))
    lock = earmuff_home / "audio.lock"
    from earmuff.runtime.shared import held

    run = subprocess.Popen(
        [sys.executable, "-m", "earmuff", "run"],
        env=env,
        stderr=open(tmp_path / "run1.log", "w"),
        start_new_session=True,
    )
    groups = [run.pid]  # each run and the audio processes it started: cleaned up by group if anything fails
    try:
        wait_for(lambda: answers(earmuff_home), "run answering")
        audio_pid = SharedAudio.attach(shm_path(paths)).audio_pid
        assert held(lock) and audio_pid != run.pid
        rec = SinkRecorder(pulse, tmp_path / "rec.raw")
        time.sleep(0.5)
        run.kill()  # the listener half crashes; the audio process it started plays on
        run.wait(10)
        time.sleep(1.0)
        x = rec.stop()
        assert held(lock)
        # A new `earmuff run` takes the running audio process over; Ctrl-C (SIGINT to the group) stops both.
        run = subprocess.Popen(
            [sys.executable, "-m", "earmuff", "run"],
            env=env,
            stderr=open(tmp_path / "run2.log", "w"),
            start_new_session=True,
        )
        groups.append(run.pid)
        wait_for(lambda: answers(earmuff_home), "the second run answering")
        assert SharedAudio.attach(shm_path(paths)).audio_pid == audio_pid
        os.killpg(run.pid, signal.SIGINT)
        assert run.wait(15) == 0
        wait_for(lambda: not held(lock), "the audio processes stopping")
        assert not (earmuff_home / "audio.shm").exists()
        assert "already running; this listener attaches to it" in (tmp_path / "run2.log").read_text()
        # The audio process wrote its counters to the first run's log when the second one stopped it.
        log = (tmp_path / "run1.log").read_text()
        assert daemonlib.without_underruns(quiet_spans(x), log) == [], (quiet_spans(x), log)
    finally:
        for group in groups:
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_status_and_light_say_fault_while_the_audio_process_plays_nothing(pulse, earmuff_home):
    audio = daemonlib.Supervisor(pulse, earmuff_home, restart_s=0.1, command="audio", name="audio")  # no standby
    listener = daemonlib.Supervisor(pulse, earmuff_home, command="listen")

    def state() -> tuple[str, str | None]:
        s = request(earmuff_home / "control.sock", "status")
        return s["state"], s["fault"]

    try:
        daemonlib.wait_ready(earmuff_home)
        wait_for(lambda: state() == ("jamming", None), "jamming")
        time.sleep(2.0)
        # A reload gives the listener a new device long after the audio process started (as on a device in use).
        assert request(earmuff_home / "control.sock", "reload")["ok"]
        wait_for(lambda: state() == ("jamming", None), "jamming after the reload")
        os.kill(audio.proc.pid, signal.SIGSTOP)  # nothing plays; the listener must not go on saying "jamming"
        try:
            wait_for(lambda: state() == ("fault", "audio stopped"), "fault while the audio process is frozen")
            time.sleep(3 * listener_mod.HUNG_S)  # past the worker's hang limit: its worker is idle, not hung
            assert state() == ("fault", "audio stopped")
        finally:
            os.kill(audio.proc.pid, signal.SIGCONT)
        wait_for(lambda: state() == ("jamming", None), "jamming again")
    finally:
        listener.stop()
        audio.stop()


def test_a_frozen_audio_process_is_ended_by_the_standby_which_plays(device, pulse, earmuff_home, tmp_path):
    rec = SinkRecorder(pulse, tmp_path / "rec.raw")
    time.sleep(1.0)
    frozen, mark = device.playing(), rec.now()
    os.kill(frozen, signal.SIGSTOP)  # frozen, not dead: its lock stays held
    wait_for(lambda: "ending it to take over" in device.logs(), "the standby ending the frozen process")
    wait_for(lambda: device.playing() != frozen, "the standby playing")
    time.sleep(1.5)
    x = rec.stop()
    spans = silences(x, device)
    print("frozen audio process, standby took over: silence", [round(b - a, 2) for a, b in spans], "s")
    assert len(spans) == 1 and mark - 0.1 < spans[0][0], (spans, mark)  # one gap, and noise again after it
    assert sorted(device.audio.exits + device.standby.exits) == [-9], device.logs()
    wait_for(lambda: request(earmuff_home / "control.sock", "status")["state"] == "jamming", "jamming again")
