"""A one-line progress bar per stage on stderr, with the time left."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

# Told each bar's stage and count, at most every REPORT_S: a background training's state file (background.py).
reporter: Callable[[str, int, int], None] | None = None
REPORT_S = 2.0


class Progress:
    """Counts finished items of a stage and redraws `stage [#####.....] 12/40 0:07 left`."""

    def __init__(self, stage: str, total: int, out: TextIO | None = None, quiet: bool = False) -> None:
        self.stage, self.total, self.done = stage, max(1, total), 0
        self.out = out or sys.stderr
        self.quiet = quiet
        self.started = time.monotonic()
        self.drawn = self.reported = 0.0
        self.lock = threading.Lock()
        self._draw()

    def tick(self, n: int = 1) -> None:
        """One or more items finished (thread-safe)."""
        with self.lock:
            self.done = min(self.total, self.done + n)
            if time.monotonic() - self.drawn > 0.5:  # a terminal redraw per item would cost more than the work
                self._draw()
            if reporter and time.monotonic() - self.reported > REPORT_S:
                self.reported = time.monotonic()
                reporter(self.stage, self.done, self.total)

    def close(self) -> float:
        """Finish the line; return the stage's seconds."""
        took = time.monotonic() - self.started
        if not self.quiet:
            self.out.write(f"\r{self.stage:<12} [{'#' * 24}] done in {took:.1f} s{' ' * 16}\n")
            self.out.flush()
        return took

    def _draw(self) -> None:
        if self.quiet:
            return
        self.drawn = time.monotonic()
        frac = self.done / self.total
        elapsed = time.monotonic() - self.started
        left = elapsed / frac - elapsed if frac > 0 else float("nan")
        eta = f"{clock(left)} left" if left == left else "--:-- left"
        bar = "#" * int(24 * frac) + "." * (24 - int(24 * frac))
        self.out.write(f"\r{self.stage:<12} [{bar}] {self.done}/{self.total} {eta}   ")
        self.out.flush()


def clock(seconds: float) -> str:
    """Seconds as m:ss."""
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
