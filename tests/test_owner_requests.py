"""The owner's requests reach the worker at its next frame; a request of an unknown kind is refused when it is put."""

import logging

import numpy as np
import pytest

from earmuff.config import Config
from earmuff.runtime.device import Device, JamOnly

pytestmark = pytest.mark.unit


def run(device, seconds):
    out = np.zeros((320, 2), np.float32)
    mic = (np.random.default_rng(0).standard_normal(320) * 1e-4).astype(np.float32)
    for _ in range(int(seconds * 50)):
        device.callback(mic, out)
        while device.work():
            pass


def test_pause_toggle_and_resume_reach_the_worker():
    events = []
    device = Device(Config(), lambda t, name, **f: events.append((name, f)), detector=JamOnly(), max_block=320)
    device.requests.put(("pause", 30.0))
    run(device, 0.5)
    assert ("paused", {"seconds": 30.0}) in events and device.state()[0] == "paused"
    assert device.state()[1] == pytest.approx(29.5, abs=0.2)
    device.requests.put(("toggle_pause", 60.0))  # the button while paused: jamming again
    run(device, 0.5)
    assert device.state() == ("jamming", 0.0) and events[-1][0] == "jam_on"
    device.requests.put(("toggle_pause", 60.0))  # and again: a pause of the given length
    run(device, 0.5)
    assert device.state()[0] == "paused" and ("paused", {"seconds": 60.0}) in events
    device.requests.put(("resume", 0.0))
    run(device, 0.5)
    assert device.state() == ("jamming", 0.0) and events[-1] == ("jam_on", {"window": 2, "reason": "resumed"})


def test_a_bad_request_changes_nothing_and_says_why(caplog):
    device = Device(Config(), lambda *a, **k: None, detector=JamOnly(), max_block=320)
    with pytest.raises(ValueError, match=r"owner request 'snooze': expected one of wake, pause, toggle_pause, resume"):
        device.requests.put(("snooze", 5.0))
    with caplog.at_level(logging.ERROR, logger="earmuff.runtime"):
        device.requests.put(("pause", -5.0))
        run(device, 0.5)
    assert device.state() == ("jamming", 0.0) and not device.gate.is_open
    assert any("pause of -5.0 s: expected more than 0" in r.getMessage() for r in caplog.records)
