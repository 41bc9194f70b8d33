"""Button and status light on gpiozero's MockFactory: presses reach the device, each state has its own colour."""

import time

import gpiozero
import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin, MockSPIDevice

from earmuff.config import Config, GpioConfig
from earmuff.runtime.device import Device, JamOnly
from earmuff.service.gpio import COLOURS, Panel

pytestmark = pytest.mark.unit


@pytest.fixture
def mock_pins():
    gpiozero.Device.pin_factory = MockFactory(pin_class=MockPWMPin)
    yield gpiozero.Device.pin_factory
    gpiozero.Device.pin_factory.reset()
    gpiozero.Device.pin_factory = None


def press(pin, seconds: float) -> None:
    pin.drive_low()  # the button pulls GPIO17 to ground
    time.sleep(seconds)
    pin.drive_high()
    time.sleep(0.05)


def test_short_and_long_presses(mock_pins):
    calls = []
    panel = Panel(
        GpioConfig(long_press_s=0.5, light="none"), lambda: calls.append("short"), lambda: calls.append("long")
    )
    pin = mock_pins.pin(17)
    press(pin, 0.05)
    assert calls == ["short"]
    press(pin, 0.8)
    assert calls == ["short", "long"]  # a long press is not also a short one
    press(pin, 0.05)
    assert calls == ["short", "long", "short"]
    panel.close()


def test_a_failing_action_does_not_break_the_button(mock_pins):
    calls = []

    def boom():
        calls.append(1)
        raise RuntimeError("boom")

    panel = Panel(GpioConfig(light="none"), boom, boom)
    press(mock_pins.pin(17), 0.05)
    press(mock_pins.pin(17), 0.05)
    assert calls == [1, 1]
    panel.close()


def test_rgb_led_shows_a_distinct_colour_per_state_and_blinks_on_fault(mock_pins):
    cfg = GpioConfig(light="rgb", red=5, green=6, blue=13)
    panel = Panel(cfg, lambda: None, lambda: None)
    seen = {}
    for state in COLOURS:
        panel.show(state, tick=0)
        seen[state] = tuple(round(mock_pins.pin(p).state, 2) for p in (5, 6, 13))
    assert len(set(seen.values())) == len(COLOURS), seen
    panel.show("fault", tick=1)
    assert all(mock_pins.pin(p).state == 0 for p in (5, 6, 13))  # the off half of the blink
    panel.close()


class Apa102Listener(MockSPIDevice):
    """The LED strip's side of SPI: collects the bytes it was sent."""

    def frames(self) -> list[int]:
        bits = self.rx_buf
        return [int("".join(str(int(b)) for b in bits[i : i + 8]), 2) for i in range(0, len(bits) - 7, 8)]


def test_apa102_gets_start_frame_three_leds_and_end_frame(mock_pins):
    gpiozero.Device.pin_factory = MockFactory()  # plain pins: the SPI mock brings its own pin classes
    leds = Apa102Listener(clock_pin=11, mosi_pin=10, select_pin=8)
    panel = Panel(GpioConfig(light="apa102", brightness=1.0), lambda: None, lambda: None)
    leds.rx_buf = []
    panel.show("window", tick=0)
    r, g, b = (round(c * 255) for c in COLOURS["window"])
    assert leds.frames() == [0, 0, 0, 0] + [0xFF, b, g, r] * 3 + [0xFF] * 4
    panel.close()


def test_button_presses_drive_the_real_device(mock_pins, monkeypatch, paths):
    """Short press: a window opens (the trigger plays); long press: a quiet pause; long press again: jamming."""
    from earmuff.service.listener import Daemon

    monkeypatch.setattr("earmuff.service.listener.count_start", lambda _: 0)
    cfg = Config(gpio=GpioConfig(long_press_s=0.3, light="rgb"))
    daemon = Daemon(cfg, paths)
    device = daemon.device
    daemon._start_panel()
    assert daemon.panel is not None
    events = []
    device.events = lambda t, name, **f: events.append(name)
    pin = mock_pins.pin(17)
    import numpy as np

    out = np.zeros((320, 2), np.float32)
    mic = (np.random.default_rng(0).standard_normal(320) * 1e-4).astype(np.float32)  # a quiet room, not digital zeros

    def play(seconds):
        for _ in range(int(seconds * 50)):
            device.callback(mic, out)
            while device.work():
                pass

    play(0.5)
    press(pin, 0.05)
    play(1.0)
    assert "button_pressed" in events and "jam_off" in events and "trigger_start" in events
    assert daemon.state() == "window"
    play(5.0)  # quiet room: the window closes
    assert events[-1] == "jam_on" and daemon.state() == "jamming"
    events.clear()
    press(pin, 0.5)
    play(0.5)
    assert events[:2] == ["paused", "jam_off"] and "trigger_start" not in events  # a pause says nothing
    assert daemon.state() == "paused" and device.state()[1] == pytest.approx(600, abs=1)
    press(pin, 0.5)
    play(0.5)
    assert events[-1] == "jam_on" and daemon.state() == "jamming"
    daemon.panel.close()


def test_device_without_pins_keeps_jamming():
    d = Device(Config(), lambda *a, **k: None, detector=JamOnly(), max_block=320)
    assert d.state() == ("jamming", 0.0)


def test_audio_process_blinks_the_fault_on_the_leds_only_while_no_listener_runs(tmp_path):
    from earmuff.service.fault_light import FaultLight
    from earmuff.service.gpio import apa102_frame

    spi = tmp_path / "spidev0.0"  # stands in for /dev/spidev0.0: the same bytes go to the LEDs
    spi.touch()
    light = FaultLight(GpioConfig(light="apa102", brightness=1.0), path=str(spi))
    light.show(False, True)
    assert spi.read_bytes() == b""  # a listener runs: the light is its
    for on in (True, True, False, False, True):
        light.show(True, on)
    white, off = bytes(apa102_frame(COLOURS["fault"], 1.0)), bytes(apa102_frame((0.0, 0.0, 0.0), 1.0))
    assert spi.read_bytes() == white + off + white  # one write per blink phase
    light.show(False, True)
    assert spi.read_bytes() == white + off + white  # the listener is back: nothing more from here
    assert FaultLight(GpioConfig(light="rgb"), path=str(spi)).fd is None  # a plain RGB LED stays the listener's
