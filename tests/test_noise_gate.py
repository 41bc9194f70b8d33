"""The callback-side gate: noise unless a valid lease; ramps without clicks; the trigger after the pre-roll."""

import numpy as np
import pytest

from earmuff.runtime.lease import RELAY_END, RELAY_START, GateArrays
from earmuff.runtime.noise_gate import JAM_OFF, JAM_ON, RELAY_GAP, TRIGGER_END, TRIGGER_START, NoiseGate, NoiseTable

pytestmark = pytest.mark.unit

BLOCK = 320


def make_gate(trigger_len=1000, pre_roll=800, ramp=320, clip=0):
    rng = np.random.default_rng(0)
    table = NoiseTable(rng.standard_normal((16000, 2)).astype(np.float32) * 0.1)
    trigger = np.full(trigger_len, 0.5, np.float32)
    arrays = GateArrays.private(clip)
    return NoiseGate(table, trigger, pre_roll=pre_roll, ramp=ramp, max_block=BLOCK, arrays=arrays)


def run(gate, blocks):
    out = np.zeros((blocks * BLOCK, 2), np.float32)
    for b in range(blocks):
        gate.render(out[b * BLOCK : (b + 1) * BLOCK])
    return out


def events(gate):
    return [tuple(int(v) for v in gate.events[i]) for i in range(gate.events_written)]


def test_jams_without_any_lease():
    out = run(make_gate(), 50)
    assert np.all(np.abs(out).reshape(-1, BLOCK, 2).max(axis=1) > 0.05)


def test_lease_silences_then_expires_by_itself():
    gate = make_gate(trigger_len=1)
    run(gate, 5)
    gate.grant(gate.counter + 16000, window=1)  # one second, then nobody renews it
    out = run(gate, 100)
    level = np.sqrt(np.mean(out[:, 0].reshape(-1, BLOCK) ** 2, axis=1))
    assert level[5:45].max() < 1e-6  # quiet (after the ramp) while the lease holds
    assert level[52:].min() > 0.05  # noise back after 50 blocks = 1 s, with no worker involved
    codes = [e[1] for e in events(gate)]
    assert codes[0] == JAM_OFF and codes[-1] == JAM_ON


def test_a_closed_window_never_reopens_on_a_late_renewal():
    gate = make_gate()
    gate.grant(1600, window=1)
    run(gate, 10)  # lease ran out at sample 1600
    gate.grant(gate.counter + 16000, window=1)  # a late worker renews the same window
    out = run(gate, 20)
    assert np.sqrt(np.mean(out**2)) > 0.05
    gate.grant(gate.counter + 16000, window=2)  # a new window opens
    out = run(gate, 20)
    assert np.sqrt(np.mean(out[-BLOCK:] ** 2)) < 0.01


def test_revoke_brings_noise_back_with_a_ramp_not_a_click():
    gate = make_gate(trigger_len=1)
    gate.grant(10**9, window=1)
    run(gate, 20)
    gate.revoke()
    pos = gate.counter % gate.table.size
    out = run(gate, 3)[:, 0]
    expected = gate.table.rows[pos : pos + BLOCK, 0] * np.arange(1, BLOCK + 1) / BLOCK  # linear 20 ms fade-in
    np.testing.assert_allclose(out[:BLOCK], expected, atol=1e-6)
    np.testing.assert_allclose(out[BLOCK:], gate.table.rows[pos + BLOCK : pos + 3 * BLOCK, 0])


def test_trigger_plays_once_after_the_pre_roll():
    gate = make_gate(trigger_len=1000, pre_roll=800)
    gate.grant(10**9, window=1)
    out = run(gate, 20)[:, 0]
    start = 800
    assert np.abs(out[320:start]).max() < 1e-6  # noise ramped off, pre-roll is silent
    np.testing.assert_allclose(out[start : start + 1000], 0.5)
    assert np.abs(out[start + 1000 :]).max() < 1e-6
    ev = events(gate)
    assert (start, TRIGGER_START, 1) in ev and (start + 1000, TRIGGER_END, 1) in ev


def test_noise_table_refill_stays_ahead_of_playback():
    table = NoiseTable(np.zeros((16000, 1), np.float32))
    ones = lambda n: np.ones((n, 1), np.float32)
    table.refill(0, ones)
    assert table.rows.max() == 0.0  # the initial table already reaches half a table ahead
    table.refill(12000, ones)  # playback at 12000: fresh noise up to 20000, i.e. rows 0..4000 after wrapping
    assert table.filled_to >= 12000 + 8000
    assert table.rows[:4000].min() == 1.0
    assert table.rows[8000:16000].max() == 0.0  # the part being played now is left alone


def test_a_growing_relay_plays_only_what_is_granted_waits_in_silence_and_ends_at_the_final_length():
    gate = make_gate(trigger_len=1000, pre_roll=800, clip=16000)
    clip = gate.arrays.clip
    command = (0.2 + 0.1 * np.sin(np.arange(6000) / 5.0)).astype(np.float32)  # never 0: a gap is told from it
    start = 800 + 1000 + RELAY_GAP  # pre-roll, trigger, gap
    clip[:2500] = command[:2500]
    gate.grant(10**6, window=1, relay=2000, more=True)  # recorded 2500, of which 2000 may be played so far
    first = run(gate, start // BLOCK + 30)[:, 0]  # far past what was granted: the gate waits
    np.testing.assert_array_equal(first[start : start + 2000], command[:2000])
    assert not np.any(first[start + 2000 :])  # waiting: silence, not noise and not the ungranted 500 samples
    assert np.array_equal(clip[2000:2500], command[2000:2500]) and not np.any(clip[:2000])  # played: cleared
    clip[2500:6000] = command[2500:]
    gate.grant(10**6, window=1, relay=5000, more=False)  # the command ended: final length
    waited = len(first) - start - 2000
    rest = run(gate, 30)[:, 0]
    np.testing.assert_array_equal(rest[:3000], command[2000:5000])  # on from where it waited
    assert not np.any(rest[3000:])
    assert not np.any(clip[:5000]) and np.array_equal(clip[5000:6000], command[5000:])  # beyond the final: never played
    relay = [(e[0], e[1]) for e in events(gate) if e[1] in (RELAY_START, RELAY_END)]
    assert relay == [(start, RELAY_START), (start + 2000 + waited + 3000, RELAY_END)]
    assert gate.arrays.state[6] == 5000 and gate.is_open  # the window stays open for the answer


def test_a_relay_never_holds_the_noise_off_without_a_lease():
    gate = make_gate(trigger_len=1000, pre_roll=800, clip=16000)
    gate.arrays.clip[:8000] = 0.3
    until = 800 + 1000 + RELAY_GAP + 600  # 600 samples into the command, the listener dies
    gate.grant(until, window=1, relay=8000, more=True)
    out = run(gate, 60)[:, 0]
    level = np.sqrt(np.mean(out.reshape(-1, BLOCK) ** 2, axis=1))
    assert level[until // BLOCK + 2 :].min() > 0.05  # the noise is back by itself ...
    assert abs(out[until + BLOCK :].mean()) < 0.02  # ... with nothing of the command (0.3) in it
    codes = [e[1] for e in events(gate)]
    assert codes[-2:] == [RELAY_END, JAM_ON]  # cut short with the lease: said so
    gate.grant(gate.counter + 16000, window=1, relay=8000, more=False)  # a late renewal of that window
    out = run(gate, 10)[:, 0]
    assert np.sqrt(np.mean(out**2)) > 0.05  # stays jamming
