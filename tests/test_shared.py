"""The shared memory between the audio process and the listener: layout, lease seqlock, ring, locks."""

import os
import subprocess
import sys

import numpy as np
import pytest

from earmuff.runtime.noise_gate import NoiseGate, NoiseTable
from earmuff.runtime.ring import BlockRing
from earmuff.runtime.shared import MAGIC, AttachError, Busy, GateView, SharedAudio, held, hold, shm_path

pytestmark = pytest.mark.unit


def gate_on(shared: SharedAudio) -> NoiseGate:
    table = NoiseTable(np.random.default_rng(0).standard_normal((16000, 2)).astype(np.float32) * 0.1)
    return NoiseGate(
        table, np.zeros(1, np.float32), pre_roll=0, ramp=1, max_block=320, arrays=shared.gate, max_lease=3 * 16000
    )


def render(gate: NoiseGate, blocks: int = 1) -> float:
    out = np.zeros((320, 2), np.float32)
    for _ in range(blocks):
        gate.render(out)
    return float(np.sqrt(np.mean(out**2)))


def test_a_listener_attaches_and_its_lease_reaches_the_audio_side(earmuff_home, paths):
    audio = SharedAudio.create(slots=8, max_block=320, width=3, path=shm_path(paths))
    gate = gate_on(audio)
    render(gate, 5)
    listener = SharedAudio.attach(shm_path(paths))
    view = GateView(listener.gate)
    assert view.counter == 1600 and not view.is_open and view.playing
    view.grant(view.counter + 8000, window=1)
    assert render(gate) == 0.0 and view.is_open and not view.playing
    view.revoke()
    assert render(gate) > 0.05 and not view.is_open
    ring_a, ring_l = BlockRing(0, 0, 0, audio.ring), BlockRing(0, 0, 0, listener.ring)
    ring_a.put(1600, np.ones((320, 3), np.float32))
    start, rows = ring_l.get()
    assert start == 1600 and rows.shape == (320, 3) and ring_l.get() is None


def test_a_lease_half_written_by_a_dead_listener_is_no_lease(earmuff_home, paths):
    audio = SharedAudio.create(slots=8, max_block=320, width=3, path=shm_path(paths))
    gate = gate_on(audio)
    lease = audio.gate.lease
    lease[1], lease[2], lease[3], lease[0] = 10**6, 1, 1, 1  # odd: its writer died in the middle
    assert render(gate, 3) > 0.05 and not gate.is_open
    GateView(SharedAudio.attach(shm_path(paths)).gate)  # the next listener finishes it as "no lease"
    assert lease[0] % 2 == 0 and lease[1] == 0 and render(gate) > 0.05


def test_a_torn_read_keeps_the_last_whole_lease(earmuff_home, paths):
    audio = SharedAudio.create(slots=8, max_block=320, width=3, path=shm_path(paths))
    gate = gate_on(audio)
    view = GateView(SharedAudio.attach(shm_path(paths)).gate)
    view.grant(16000, window=1)
    assert render(gate) == 0.0
    audio.gate.lease[0] += 1  # a write in progress in another process: the window stays as last read
    audio.gate.lease[1] = 0
    assert render(gate) == 0.0 and gate.is_open


def test_a_lease_too_far_ahead_or_a_bad_level_plays_full_noise(earmuff_home, paths):
    audio = SharedAudio.create(slots=8, max_block=320, width=3, path=shm_path(paths))
    gate = gate_on(audio)
    view = GateView(SharedAudio.attach(shm_path(paths)).gate)
    view.grant(10 * 16000, window=1)  # 10 s ahead: no listener grants that; corrupt
    full = render(gate)
    assert full > 0.05 and not gate.is_open
    view.set_level(-32.0, gate.counter + 16000)
    assert render(gate, 10) < full / 2  # a valid level lease lowers the noise
    view.set_level(float("nan"), gate.counter + 16000)
    assert render(gate, 20) == pytest.approx(full, rel=0.3)  # not a level: back to the full level


def test_a_file_of_another_layout_is_refused_with_a_reason(earmuff_home, paths):
    shm_path(paths).write_bytes((MAGIC + 1).to_bytes(8, sys.byteorder) + bytes(1000))
    with pytest.raises(AttachError, match=f"layout version {MAGIC & 0xFFFF}.*restart it"):
        SharedAudio.attach(shm_path(paths))
    shm_path(paths).unlink()
    with pytest.raises(AttachError, match="no audio process"):
        SharedAudio.attach(shm_path(paths))


def test_a_new_audio_process_replaces_the_file_and_the_listener_notices(earmuff_home, paths):
    first = SharedAudio.create(slots=8, max_block=320, width=3, path=shm_path(paths))
    listener = SharedAudio.attach(shm_path(paths))
    assert not listener.replaced()
    SharedAudio.create(slots=8, max_block=320, width=3, path=shm_path(paths))
    assert listener.replaced() and SharedAudio.attach(shm_path(paths)).inode != first.inode


def test_locks_name_the_holder_and_free_themselves_when_it_dies(earmuff_home, tmp_path):
    path = tmp_path / "listener.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom earmuff.runtime.shared import hold\n"
            f"hold(__import__('pathlib').Path({str(path)!r}), 'listener')\nprint('held', flush=True)\n"
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert held(path)
        with pytest.raises(Busy, match=f"another earmuff listener \\(pid {holder.pid}\\) is already running"):
            hold(path, "listener")
    finally:
        holder.kill()
        holder.wait()
    assert not held(path)
    os.close(hold(path, "listener"))
