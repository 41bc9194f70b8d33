"""How much memory a wake-word training needs, and how much the kernel can give."""

from __future__ import annotations

# Any training may include a full room bank: a refit with one peaked at 476,584 kB (docs/benchmarks.md).
TRAINING_MB = 500


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


def short_of_training() -> float | None:
    """The MiB available when that is less than a training needs; None when enough (or unknown)."""
    free = available_mb()
    return free if free is not None and free < TRAINING_MB else None
