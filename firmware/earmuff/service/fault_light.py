"""The audio process's own fault light: the HAT's APA102 LEDs blink the fault colour while no listener runs."""

from __future__ import annotations

import os
import sys

from earmuff.config import GpioConfig
from earmuff.service.gpio import COLOURS, SPIDEV, apa102_frame

SPI_SPEED_HZ = 1_000_000
SPI_IOC_WR_MAX_SPEED_HZ = 0x40046B04  # _IOW('k', 4, __u32) from linux/spi/spidev.h


class FaultLight:
    """The listener drives the light; while it is gone this blinks the fault colour on the HAT's APA102 LEDs,
    writing spidev with the standard library (gpiozero is the listener's). A plain RGB LED is left as it is."""

    def __init__(self, cfg: GpioConfig, path: str = SPIDEV) -> None:
        self.fd: int | None = None
        self.brightness = cfg.brightness
        self.shown: bool | None = None  # the blink phase last written; None: the listener has the light
        if not (cfg.enabled and cfg.light == "apa102"):
            return
        try:
            self.fd = os.open(path, os.O_WRONLY)
        except OSError:
            return  # no HAT here: nothing to show it on
        try:
            import fcntl

            fcntl.ioctl(self.fd, SPI_IOC_WR_MAX_SPEED_HZ, SPI_SPEED_HZ.to_bytes(4, sys.byteorder))
        except OSError:
            pass  # not a spidev (a test's file): the bytes are the same

    def show(self, fault: bool, on: bool) -> None:
        """While `fault`, blink (`on` is the phase); otherwise leave the light to the listener."""
        if self.fd is None or not fault:
            self.shown = None
            return
        if on != self.shown:
            self.shown = on
            try:
                os.write(self.fd, bytes(apa102_frame(COLOURS["fault"] if on else (0.0, 0.0, 0.0), self.brightness)))
            except OSError:
                self.fd = None
