"""The window state machine: opens on detection, closes on quiet, a hard maximum or a lapsed lease."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from earmuff.config import WindowConfig
from earmuff.runtime.state_machine import WindowStateMachine

pytestmark = pytest.mark.unit

F = 1280
CFG = WindowConfig(pre_roll_s=0.5, quiet_s=1.5, max_s=20.0, lease_s=0.4)
TRIGGER = 11200  # 0.7 s


def test_stays_jamming_without_detection():
    sm = WindowStateMachine(CFG, TRIGGER)
    assert all(sm.step(i * F, False, True).open_until == 0 for i in range(1, 100))


def test_quiet_closes_after_prelude_and_quiet_time():
    sm = WindowStateMachine(CFG, TRIGGER)
    cmd = sm.step(F, True, True)
    assert cmd.open_until == F + 6400 and cmd.window == 1
    t, closed = F, None
    while closed is None:
        t += F
        cmd = sm.step(t, False, False)
        closed = cmd.reason
    assert closed == "quiet"
    # pre-roll 0.5 s + trigger 0.7 s + quiet 1.5 s, to within one frame
    assert abs((t - F) - (8000 + TRIGGER + 24000)) <= F


def test_voice_keeps_it_open_until_the_maximum():
    sm = WindowStateMachine(CFG, TRIGGER)
    sm.step(F, True, True)
    t, cmd = F, None
    while True:
        t += F
        cmd = sm.step(t, False, True)
        if cmd.reason:
            break
    assert cmd.reason == "max_window" and t - F <= 20 * 16000 + F


def test_lapsed_lease_closes_the_window():
    sm = WindowStateMachine(CFG, TRIGGER)
    sm.step(F, True, True)
    assert sm.step(2 * F, False, True, lapsed=True).reason == "lease_expired"
    assert sm.step(3 * F, False, True).open_until == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans(), st.integers(0, 30)), max_size=400))
def test_invariants_under_random_events(steps):
    """Leases never reach past the hard maximum, never exceed lease_s ahead, and each window closes."""
    sm = WindowStateMachine(CFG, TRIGGER)
    t, opened_at, window = 0, None, 0
    for detected, voice, skip in steps:
        t += F * (1 + (skip if skip > 25 else 0))  # sometimes the worker was late
        lapsed = sm.is_open and t >= sm.granted
        cmd = sm.step(t, detected, voice, lapsed)
        if cmd.open_until:
            if cmd.window != window:
                window, opened_at = cmd.window, t
            assert cmd.open_until <= opened_at + 20 * 16000
            assert cmd.open_until <= t + 0.4 * 16000
        assert cmd.window >= window
