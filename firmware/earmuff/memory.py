"""How much memory a wake-word training needs, and how much the kernel can give."""

from __future__ import annotations

# docs/benchmarks.md, "Training within a Zero 2 W's memory": the quick model of `wakeword set` peaked at 176 MB.
# A room refit (the better model, three rounds, with a full room bank) completes under a 250 MiB cap (summed Pss
# 225-234 MB, anonymous 203-206 MB). The Kokoro voice adds about 220 MB while it is loaded, and is left out where
# that is not available.
TRAINING_MB = 250
REFIT_MB = 250
KOKORO_MB = 220


def available_mb() -> float | None:
    """Memory the kernel can give without swapping (MemAvailable, MiB); None where it cannot tell."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def short_of_training(needed: int = TRAINING_MB) -> float | None:
    """The MiB available when that is less than `needed` (a training's); None when enough (or unknown)."""
    free = available_mb()
    return free if free is not None and free < needed else None
