"""The owner's button and the status light, through gpiozero (APA102 LEDs on SPI, or a plain RGB LED)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from earmuff.config import GpioConfig

log = logging.getLogger(__name__)

# One colour per state, distinct at a glance; "fault" blinks.
COLOURS: dict[str, tuple[float, float, float]] = {
    "jamming": (1.0, 0.0, 0.0),  # red: the smart speaker's microphones are covered
    "window": (0.0, 0.6, 1.0),  # cyan: the smart speaker can hear you now
    "paused": (1.0, 0.5, 0.0),  # amber: the owner switched the jamming off for a while
    "training": (0.7, 0.0, 1.0),  # purple: jamming while a wake word is refitted on the room
    "fault": (1.0, 1.0, 1.0),  # blinking white: still jamming, but something needs attention
}
APA102_LEDS = 3  # on the ReSpeaker 2-Mics Pi HAT
REDRAW_TICKS = 8
SPIDEV = "/dev/spidev0.0"  # the HAT's LEDs; the audio process writes it directly when the listener is gone


def apa102_frame(rgb: tuple[float, float, float], brightness: float) -> list[int]:
    """The bytes that set every LED of the strip to `rgb`."""
    r, g, b = (round(c * 255) for c in rgb)
    return [0] * 4 + [0xE0 | max(1, round(brightness * 31)), b, g, r] * APA102_LEDS + [0xFF] * 4


class Apa102:
    """APA102 LEDs on SPI0 (the HAT's), driven through gpiozero's SPI interface."""

    def __init__(self, brightness: float) -> None:
        from gpiozero import SPIDevice

        self.spi = SPIDevice(port=0, device=0)
        self.brightness = brightness

    @property
    def color(self) -> tuple[float, float, float]:
        """The colour last shown (settable, like gpiozero's RGBLED)."""
        return self._color

    @color.setter
    def color(self, rgb: tuple[float, float, float]) -> None:
        self._color = rgb
        self.spi._spi.transfer(apa102_frame(rgb, self.brightness))

    def close(self) -> None:
        """Turn the LEDs off and release SPI."""
        self.color = (0.0, 0.0, 0.0)
        self.spi.close()


class Panel:
    """Button (short press: open the window; long press: pause or resume) and the status light."""

    def __init__(self, cfg: GpioConfig, on_short: Callable[[], None], on_long: Callable[[], None]) -> None:
        from gpiozero import RGBLED, Button

        self.on_short, self.on_long = on_short, on_long
        self.button = Button(cfg.button, pull_up=True, hold_time=cfg.long_press_s, bounce_time=None)
        self.held = False
        self.button.when_pressed = self._pressed
        self.button.when_held = self._held
        self.button.when_released = self._released
        self.light: Apa102 | RGBLED | None = None
        if cfg.light == "apa102":
            self.light = Apa102(cfg.brightness)
        elif cfg.light == "rgb":
            self.light = RGBLED(cfg.red, cfg.green, cfg.blue)
        self.shown: tuple[str, bool] | None = None

    def _pressed(self) -> None:
        self.held = False

    def _held(self) -> None:
        self.held = True
        self._call(self.on_long)

    def _released(self) -> None:
        if not self.held:
            self._call(self.on_short)

    @staticmethod
    def _call(action: Callable[[], None]) -> None:
        try:
            action()
        except Exception:  # a button press must never take the daemon down
            log.exception("button action failed")

    def show(self, state: str, tick: int) -> None:
        """Show `state` on the light; call a few times a second so a fault can blink."""
        on = state != "fault" or tick % 2 == 0
        # Shown again now and then: the audio process blinks the fault while no listener runs.
        if self.light is None or self.shown == (state, on) and tick % REDRAW_TICKS:
            return
        self.shown = (state, on)
        self.light.color = COLOURS.get(state, COLOURS["fault"]) if on else (0.0, 0.0, 0.0)

    def close(self) -> None:
        """Release the pins."""
        self.button.close()
        if self.light is not None:
            self.light.close()
