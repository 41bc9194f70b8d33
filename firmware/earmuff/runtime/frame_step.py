"""What the worker decides on each 80 ms frame: detection, voice, the noise's level, relay, the window, room learning.

`Device` is a FrameStep with the audio, the worker thread and the status around it. Who writes what: the
supervisor swaps `detector` and `room` between frames and sets `enroll_until`; any thread puts `requests`;
everything else here is the worker's own (the supervisor only reads `last_voice` and `last_relay`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from earmuff.audio.noise_level import AdaptiveLevel
from earmuff.audio.vad import is_voice, level_dbfs
from earmuff.config import FRAME, SAMPLE_RATE, Config
from earmuff.runtime.detector import Detector
from earmuff.runtime.faults import FaultInjector
from earmuff.runtime.noise_gate import RELAY_GAP, NoiseGate
from earmuff.runtime.owner import Requests
from earmuff.runtime.playback import relay_samples
from earmuff.runtime.relay import Recorder
from earmuff.runtime.room_watch import RoomCollector, RoomWatch
from earmuff.runtime.self_check import SelfCheck
from earmuff.runtime.shared import GateView
from earmuff.runtime.state_machine import Command, WindowStateMachine

if TYPE_CHECKING:
    from earmuff.runtime.device import JamOnly

log = logging.getLogger(__name__)

LEVEL_LEASE = SAMPLE_RATE  # the adaptive level holds this long unless renewed; then the noise plays at full level
LEVEL_AHEAD = int(0.5 * SAMPLE_RATE)  # a relay's level is chosen this long before the gate is due to play it


class FrameStep:
    """The worker's decision on each frame, handed to the gate as a lease or as the noise back now."""

    def __init__(
        self,
        cfg: Config,
        events: Callable[..., None],
        faults: FaultInjector,
        detector: Detector | JamOnly,
        room: RoomCollector | None,
        gate: NoiseGate | GateView,
        check: SelfCheck,
        trigger_len: int,
    ) -> None:
        self.cfg, self.events, self.faults, self.gate, self.check = cfg, events, faults, gate, check
        self.detector = detector
        self.room = room if hasattr(detector, "window") else None  # learns the room's speech
        self.enroll_until = 0  # sample until which the owner records takes: nothing is detected, nothing banked
        self.requests = Requests()  # from the owner's button or control socket
        self.machine = WindowStateMachine(cfg.window, trigger_len)
        self.machine.window = gate.window  # a window the gate has closed stays closed: number on from it
        self.noise_level = AdaptiveLevel(cfg.noise, FRAME / SAMPLE_RATE)
        self.watch = RoomWatch()
        self.close_reasons: dict[int, str] = {}
        self.detector_errors = 0
        self.detections = 0
        self.last_voice = 0  # sample at which the room last had voice (the supervisor reads it)
        self.played_db = -120.0  # level of what the speakers played during the frame being stepped (the device sets it)
        self.mic_db = -120.0  # ... and of the microphone before echo cancellation
        self.recorder = None  # relay mode: records the command after the wake name
        if cfg.window.relay:
            self.recorder = Recorder(min(relay_samples(cfg), len(gate.arrays.clip)), self.machine.quiet)
        self.relay_due = 0  # in a relay window: the sample from which the gate may play the command
        self.relay_len = 0  # ... how far it may play so far
        self.relay_more = False  # ... and whether the command is still being recorded
        self.last_relay: dict[str, object] | None = None  # the last relayed command's length and whether it was cut

    def step(self, frame: np.ndarray, end: int) -> None:
        """Run detector, voice activity and state machine on the frame that ends at sample `end`."""
        wake = self.requests.take(end, self.machine, self._apply, self.events)
        detection = None
        try:
            self.faults.check("detector", end, self.events)
            detection = self.detector.process(frame, end)
            if end < self.enroll_until:  # still fed, so that it is not stale afterwards
                detection = None
        except Exception as exc:  # a failing detector means no detection, never silence
            self.detector_errors += 1
            if self.detector_errors == 1 or self.detector_errors % 100 == 0:
                log.error("detector failed (%d times): %s", self.detector_errors, exc)
        machine = self.machine
        lapsed = machine.is_open and self.gate.counter >= machine.granted
        was_open = machine.is_open
        level = level_dbfs(frame)
        voice = is_voice(level, self.cfg.window.voice_threshold_dbfs)
        if voice:
            self.last_voice = end
        if not machine.is_open:  # the level follows the room's speech while jamming; a window has no noise
            self.noise_level.update(level, voice)
        # Lower than the full level only while the microphone is heard to work: a dead one hears a quiet room.
        jam_level = self.noise_level.level if self.check.healthy else self.cfg.noise.level_dbfs
        self.gate.set_level(jam_level, end + LEVEL_LEASE)
        opens, relay, relaying = detection is not None or wake, False, False
        if self.recorder is not None:
            self.recorder.hear(frame, level, self.played_db, self.mic_db)
            if was_open and machine.relay:
                relaying = self._stream(end, level)
            elif was_open or wake:
                if self.recorder.active or self.relay_len:
                    self._forget_relay()  # a pause began, or the button opens a window now, as without relay
            else:
                if self.recorder.active:
                    detection = None  # the name was heard already: what follows is the command
                opens, relay = self._relay(end, opens, level)
        cmd = machine.step(end, opens, voice or relaying, lapsed, relay)
        if (detection or wake) and not was_open:
            self.detections += 1
            if detection:
                self.events(
                    end / SAMPLE_RATE, "wake_detected", wake_word=detection.wake_word, score=round(detection.score, 3)
                )
            else:
                self.events(end / SAMPLE_RATE, "button_pressed")
        if self.room is not None and end >= self.enroll_until:
            try:
                opened = machine.is_open and not was_open and not machine.paused
                assert isinstance(self.detector, Detector)  # a room collector is only kept beside a wake word
                self.watch.step(
                    self.room, self.detector, machine, end, detection is not None and not was_open, opened, voice, cmd
                )
            except Exception:  # learning is optional; detection and the noise are not
                log.exception("room learning failed; it is off until the next restart")
                self.room = None
        self._apply(cmd)

    def _relay(self, end: int, heard: bool, level: float) -> tuple[bool, bool]:
        """Relay mode, while jamming: record after the wake name; (open the window, as a relay)."""
        rec = self.recorder
        assert rec is not None
        if not rec.active:
            if heard:
                rec.start(end)
            return False, False
        outcome = rec.step(end, level, self.cfg.window.voice_threshold_dbfs)
        if outcome == "pass":
            self.events(end / SAMPLE_RATE, "relay_fallback", reason=rec.why)
            return True, False
        if outcome == "open":  # the command follows the name: relay it while it is being said
            self.relay_due = end + self.machine.prelude + RELAY_GAP
            self.relay_len, self.relay_more = 0, True
            return True, True
        return False, False

    def _stream(self, end: int, level: float) -> bool:
        """In a relay window: record on, feed the gate's clip, and end the command; whether the relay is not over
        yet (the window's quiet time counts from its end)."""
        rec, clip, level_dbfs = self.recorder, self.gate.arrays.clip, self.cfg.window.relay_level_dbfs
        assert rec is not None
        if self.relay_more:
            if rec.step(end, level, self.cfg.window.voice_threshold_dbfs) == "end":
                cut = rec.cut
                self.relay_len, self.relay_more = rec.finish(clip, level_dbfs), False
                seconds = round(self.relay_len / SAMPLE_RATE, 2)
                self.last_relay = {"seconds": seconds, "cut": cut}
                self.events(end / SAMPLE_RATE, "relay_recorded", seconds=seconds, cut=cut)
                if cut:
                    log.warning(
                        "the command was longer than [window] relay_max_s = %g s: relayed its first %g s",
                        self.cfg.window.relay_max_s,
                        rec.cap / SAMPLE_RATE,
                    )
            elif end >= self.relay_due - LEVEL_AHEAD:  # enough of it to choose its level on
                self.relay_len = rec.feed(clip, level_dbfs)
        return self.relay_more or self.gate.relayed < self.relay_len

    def _apply(self, cmd: Command) -> None:
        """Hand a state-machine command to the gate: a lease, or the noise back now."""
        if cmd.open_until:
            relay = self.machine.relay and cmd.speak
            self.gate.grant(cmd.open_until, cmd.window, cmd.speak, self.relay_len * relay, self.relay_more and relay)
        elif cmd.reason:
            self.close_reasons[cmd.window] = cmd.reason
            self.gate.revoke()
            if self.recorder is not None:
                self._forget_relay()  # a relay cut short by the window's end is forgotten too

    def _forget_relay(self) -> None:
        """Clear the command wherever it is: the recorder, and the part of the gate's clip not yet played."""
        assert self.recorder is not None
        self.recorder.clear()
        self.gate.arrays.clip.fill(0.0)
        self.relay_len, self.relay_more = 0, False
