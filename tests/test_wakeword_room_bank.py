"""The room bank: private (0600), bounded, forgettable, and it drops windows a command followed."""

import stat

import numpy as np

from earmuff.wakeword import room_bank


def windows(n, value=0.0):
    return np.full((n, 16, 96), value, np.float32)


def test_bank_is_private_bounded_and_forgettable():
    assert room_bank.add(windows(30, 1.0), limit=50) == 30
    assert room_bank.add(windows(40, 2.0), limit=50) == 50
    bank = room_bank.load()
    assert bank.shape == (50, 16, 96) and bank[0, 0, 0] == 1.0 and bank[-1, 0, 0] == 2.0  # oldest dropped first
    assert stat.S_IMODE(room_bank.path().stat().st_mode) == 0o600
    assert room_bank.forget() == 50 and not room_bank.path().exists() and len(room_bank.load()) == 0


def test_collector_keeps_near_misses_but_not_the_ones_a_command_followed():
    c = room_bank.Collector(limit=100, min_score=0.3, confirm_s=10.0)
    c.observe(windows(1)[0], 0.6, 16000 * 5)  # room talk that nearly fired
    c.observe(windows(1)[0], 0.05, 16000 * 5 + 1280)  # ignored: low score, not a sampled frame
    c.observe(windows(1)[0], 0.9, 16000 * 100)  # the owner's name...
    c.command(16000 * 103)  # ...followed by a command
    assert c.flush(16000 * 200) == 1
    assert len(room_bank.load()) == 1
