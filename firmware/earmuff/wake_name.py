"""A wake word's name, and the error for a wake word that cannot be used: shared by the runtime, registry and training."""

from __future__ import annotations

import unicodedata


class WakeWordError(ValueError):
    """A wake word cannot be found or its model cannot be loaded."""


def normalise(wake_word: str) -> str:
    """A wake word's name: lower case, single spaces, accents composed (NFC)."""
    return " ".join(unicodedata.normalize("NFC", str(wake_word)).lower().split())
