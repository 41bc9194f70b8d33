"""A take waits for audio that comes late, all of it, and gives up only when no audio comes at all."""

import threading
import time

import numpy as np
import pytest

from earmuff.config import SAMPLE_RATE, Config
from earmuff.runtime.device import Device, JamOnly
from earmuff.service.recorder import Take

pytestmark = pytest.mark.unit

BLOCK = 320


def feed(device: Device, blocks: int, every_s: float, stop: threading.Event) -> None:
    """The audio callback and the worker, by hand: one block, each a little louder than the last, every `every_s`."""
    out = np.zeros((BLOCK, 2), np.float32)
    for i in range(blocks):
        if stop.is_set():
            return
        device.callback(np.full(BLOCK, 1e-3 * (i + 1), np.float32), out)
        while device.work():
            pass
        time.sleep(every_s)


def test_a_take_delivered_slower_than_real_time_comes_whole():
    device = Device(Config(), lambda *a, **k: None, detector=JamOnly(), max_block=BLOCK)
    seconds = 10 * BLOCK / SAMPLE_RATE  # 0.2 s, delivered over 3.6 s: later than its length + GRACE_S
    take, stop = Take(seconds, since=0), threading.Event()
    feeder = threading.Thread(target=feed, args=(device, 12, 0.3, stop))
    feeder.start()
    try:
        audio = take.record(device)
    finally:
        stop.set()
        feeder.join()
    assert audio is not None and len(audio) == len(take.audio)
    assert take.taps >= 10 and device.listen_tap is None


def test_a_take_with_no_audio_gives_up():
    device = Device(Config(), lambda *a, **k: None, detector=JamOnly(), max_block=BLOCK)
    take = Take(0.2)
    assert take.record(device) is None
    assert take.taps == 0 and device.listen_tap is None
