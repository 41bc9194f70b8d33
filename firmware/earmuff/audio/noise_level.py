"""The adaptive jamming level: a quiet hiss in a quiet room, louder as soon as people talk.

The room's speech is measured on earmuff's own microphone after echo cancellation. earmuff and the
smart speaker sit together, so that is also (at most) the speech level at the smart speaker's
microphones; the noise there must stay `margin_db` above it.
"""

from __future__ import annotations

from earmuff.config import MIC_FULL_SCALE_DB_SPL, NoiseConfig


class AdaptiveLevel:
    """Tracks the noise level (dBFS at the output) that keeps the margin over the room's speech."""

    def __init__(self, cfg: NoiseConfig, frame_s: float) -> None:
        self.cfg = cfg
        self.frame_s = frame_s
        self.quiet = min(cfg.quiet_level_dbfs, cfg.level_dbfs)  # the maximum wins if set below the quiet level
        self.level = cfg.level_dbfs if not cfg.adaptive else self.quiet
        self.since_speech = float("inf")

    def needed_dbfs(self, speech_dbfs: float) -> float:
        """Output level that puts the noise `margin_db` above speech heard at `speech_dbfs` by the microphone."""
        speech_db_spl = speech_dbfs + MIC_FULL_SCALE_DB_SPL
        return speech_db_spl + self.cfg.margin_db - self.cfg.cup_coupling_db_spl

    def update(self, frame_dbfs: float, voice: bool) -> float:
        """Advance one frame; return the output level to play, in dBFS."""
        cfg = self.cfg
        if not cfg.adaptive:
            return cfg.level_dbfs
        if voice:
            self.since_speech = 0.0
            self.level = max(self.level, min(cfg.level_dbfs, self.needed_dbfs(frame_dbfs)))  # attack at once
        else:
            self.since_speech += self.frame_s
            if self.since_speech > cfg.hold_s:
                self.level = max(self.quiet, self.level - cfg.release_db_s * self.frame_s)
        return self.level
