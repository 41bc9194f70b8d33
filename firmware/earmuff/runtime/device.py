"""The firmware's data path: mic -> echo cancel -> detector -> state machine -> noise gate -> speaker.

The audio callback only copies blocks in and out; the worker (`start_worker`) does everything heavy; the
owner of the Device supervises. The gate decides on its own to jam whenever the worker's lease has run out.
On the real device the callback and gate run in the audio process (`audio_process.py`) and this Device
is attached to them through shared memory (`audio=`); the simulator and tests run both in one process.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol, cast

import numpy as np

from earmuff.audio.clock_drift import ClockDrift
from earmuff.audio.echo_cancel import make_canceller
from earmuff.audio.files import AudioFileError, trigger_audio
from earmuff.audio.noise import NoiseGenerator
from earmuff.audio.noise_level import AdaptiveLevel
from earmuff.audio.vad import is_voice, level_dbfs
from earmuff.config import FRAME, SAMPLE_RATE, Config
from earmuff.runtime.detector import Detection, Detector
from earmuff.runtime.faults import FaultInjector
from earmuff.runtime.lease import EVENT_NAMES, JAM_ON
from earmuff.runtime.noise_gate import NoiseGate
from earmuff.runtime.playback import build_gate, make_noise, play_block, relay_samples, ring_slots, scaled_trigger
from earmuff.runtime.relay import Recorder
from earmuff.runtime.ring import BlockRing
from earmuff.runtime.self_check import Expected, SelfCheck
from earmuff.runtime.shared import GateView, SharedAudio
from earmuff.runtime.state_machine import Command, WindowStateMachine

log = logging.getLogger(__name__)

COMMAND_START = int(1.5 * SAMPLE_RATE)  # a command starts this soon after the trigger, or it is not one
LEVEL_LEASE = SAMPLE_RATE  # the adaptive level holds this long unless renewed; then the noise plays at full level
BATCH = 8  # blocks the worker takes in one pass at most


class EventSink(Protocol):
    """Receives the timeline: t in seconds of audio, an event name, and its fields."""

    def __call__(self, t: float, event: str, **fields: object) -> None: ...


class RoomCollector(Protocol):
    """Learns the room from what the detector hears (the wake-word registry's room bank)."""

    def observe(self, score: float, end: int, voice: bool, window: Callable[[], np.ndarray]) -> None: ...

    def detected(self, end: int) -> None: ...

    def window_closed(self, end: int, command: bool) -> None: ...

    def write(self, limit: int, max_days: float) -> dict[str, int]: ...


class Device:
    """One earmuff: owns the gate, the ring between the threads, and the worker's pipeline."""

    def __init__(
        self,
        cfg: Config,
        events: EventSink,
        faults: FaultInjector | None = None,
        max_block: int = 4096,
        seed: int = 0,
        detector: Detector | JamOnly | None = None,
        room: RoomCollector | None = None,
        audio: SharedAudio | None = None,
        expected: Expected | None = None,
    ) -> None:
        self.cfg = cfg
        self.events = events
        self.faults = faults or FaultInjector()
        channels = cfg.audio.channels
        self.detector = detector if detector is not None else Detector(cfg.wake.wake_word, cfg.wake)
        if audio is None:
            self.noise: NoiseGenerator | None
            self.gate: NoiseGate | GateView
            self.noise, table = make_noise(cfg, seed)
            self.gate = build_gate(cfg, scaled_trigger(cfg), table, max_block)
            self.ring = BlockRing(ring_slots(cfg.audio.block), max_block, 1 + channels)
            trigger_len = len(self.gate.trigger)
        else:  # the audio process plays the noise and the trigger; this side only needs the trigger's length
            self.gate, self.noise = GateView(audio.gate), None
            self.ring = BlockRing(0, 0, 0, audio.ring)
            self.ring.skip()
            self.gate.revoke()  # a lease left by a listener that died ends now
            self.gate.arrays.clip.fill(0.0)  # and the rest of a command it was relaying is forgotten
            try:
                trigger_len = len(trigger_audio(cfg.window.trigger))
            except AudioFileError:
                trigger_len = 0  # the audio process says why, and says no trigger
        self._row = np.zeros((max_block, 1 + channels), np.float32)
        self.canceller = make_canceller(cfg.audio.echo_cancel, channels=channels)
        self.clock_drift = ClockDrift(channels) if cfg.audio.echo_cancel != "none" else None
        self.noise_level = AdaptiveLevel(cfg.noise, FRAME / SAMPLE_RATE)
        self.check = SelfCheck(expected, cfg.audio.block)  # expected: what calibration measured, if it ran
        self.machine = WindowStateMachine(cfg.window, trigger_len)
        self.machine.window = self.gate.window  # a window the gate has closed stays closed: number on from it
        self.frame = np.zeros(FRAME, np.float32)
        self.frame_fill = 0
        self.close_reasons: dict[int, str] = {}
        self.events_read = self.gate.events_written  # an attached listener reports from now on
        self.dropped_before = self.ring.dropped  # blocks no listener was there to take are not this one's
        self.detector_errors = 0
        self.processed = 0  # blocks the worker has finished
        self.detections = 0
        self.requests: queue.SimpleQueue = queue.SimpleQueue()  # (kind, seconds) from the owner's button or socket
        self.stopping = threading.Event()
        self.worker: threading.Thread | None = None
        self.worker_error: BaseException | None = None
        self.listen_tap: Callable[[int, np.ndarray], None] | None = None  # sees what the detector hears
        self.enroll_until = 0  # sample until which the owner records takes: nothing is detected, nothing banked
        self.room = room if hasattr(self.detector, "window") else None  # learns the room's speech
        self.prelude_end: int | None = None  # in an open wake-word window: when the owner's command may start
        self.command_heard = False
        self.last_voice = 0  # sample at which the room last had voice (the supervisor reads it)
        self.recorder = None  # relay mode: records the command after the wake name
        if cfg.window.relay:
            cap = min(relay_samples(cfg), len(self.gate.arrays.clip))
            self.recorder = Recorder(cap, self.machine.quiet)
        self.last_relay: dict[str, object] | None = None  # the last relayed command's length and whether it was cut

    # --- audio callback side: copies only -------------------------------------------------------

    def callback(self, mic: np.ndarray, out: np.ndarray, late: bool = False) -> None:
        """Render `out` (frames x channels) and hand `mic` plus what was played to the worker."""
        play_block(cast(NoiseGate, self.gate), self.ring, self._row, mic, out, late)

    # --- worker side ------------------------------------------------------------------------------

    def start_worker(self, wait: Callable[[], None]) -> None:
        """Run the worker in its own thread; `wait` sleeps until audio may be pending."""
        self.worker = threading.Thread(target=self._worker_main, args=(wait,), name="earmuff-worker", daemon=True)
        self.worker.start()

    def stop_worker(self, timeout: float = 5.0) -> None:
        """Ask the worker to finish and wait for it."""
        self.stopping.set()
        if self.worker:
            self.worker.join(timeout)

    def _worker_main(self, wait: Callable[[], None]) -> None:
        try:
            while not self.stopping.is_set():
                if not self.work():
                    wait()
        except BaseException as exc:  # the lease runs out and the noise returns; the supervisor sees this
            self.worker_error = exc
            log.exception("worker stopped; the noise stays on")

    def work(self) -> bool:
        """Process the pending blocks (up to BATCH); False when there was none."""
        if self.noise is not None:
            cast(NoiseGate, self.gate).table.refill(self.gate.counter, self.noise.generate)
        block = self.ring.get()
        if block is None:
            self.drain_gate_events()
            return False
        start, rows = block
        self.check.feed(rows)  # block by block: it measures the microphone a number of blocks after the noise
        # One pass over the blocks that followed on costs less than a pass each (warm caches, fewer calls).
        parts, taken = [rows], 1
        while taken < BATCH and (nxt := self.ring.get()) is not None:
            taken += 1
            self.check.feed(nxt[1])
            if nxt[0] != start + sum(len(r) for r in parts):  # blocks were dropped: keep the timeline exact
                self._process(start, np.concatenate(parts))
                start, parts = nxt[0], []
            parts.append(nxt[1])
        self._process(start, np.concatenate(parts))
        self.drain_gate_events()
        self.processed += taken
        return True

    def _process(self, start: int, rows: np.ndarray) -> None:
        """Echo-cancel contiguous rows (mic, played...) from sample `start` and step the detector frame by frame."""
        self.faults.check("worker", start, self.events)
        played = self.clock_drift.align(rows[:, 0], rows[:, 1:]) if self.clock_drift else rows[:, 1:]
        clean = self.canceller.process(rows[:, 0], played)
        if self.listen_tap:
            self.listen_tap(start, clean)
        pos = 0
        while pos < len(clean):
            n = min(FRAME - self.frame_fill, len(clean) - pos)
            self.frame[self.frame_fill : self.frame_fill + n] = clean[pos : pos + n]
            self.frame_fill += n
            pos += n
            if self.frame_fill == FRAME:
                self.frame_fill = 0
                self._step(start + pos)

    def _step(self, end: int) -> None:
        """Run detector, voice activity and state machine on the frame that ends at sample `end`."""
        wake = self._owner_requests(end)
        detection = None
        try:
            self.faults.check("detector", end, self.events)
            detection = self.detector.process(self.frame, end)
            if end < self.enroll_until:  # still fed, so that it is not stale afterwards
                detection = None
        except Exception as exc:  # a failing detector means no detection, never silence
            self.detector_errors += 1
            if self.detector_errors == 1 or self.detector_errors % 100 == 0:
                log.error("detector failed (%d times): %s", self.detector_errors, exc)
        machine = self.machine
        lapsed = machine.is_open and self.gate.counter >= machine.granted
        was_open = machine.is_open
        level = level_dbfs(self.frame)
        voice = is_voice(level, self.cfg.window.voice_threshold_dbfs)
        if voice:
            self.last_voice = end
        if not machine.is_open:  # the level follows the room's speech while jamming; a window has no noise
            self.noise_level.update(level, voice)
        # Lower than the full level only while the microphone is heard to work: a dead one hears a quiet room.
        jam_level = self.noise_level.level if self.check.healthy else self.cfg.noise.level_dbfs
        self.gate.set_level(jam_level, end + LEVEL_LEASE)
        opens, relay = detection is not None or wake, 0
        if self.recorder is not None:
            self.recorder.hear(self.frame, level)
            if was_open or wake:
                if self.recorder.active:
                    self.recorder.clear()  # a pause began, or the button opens a window now, as without relay
            else:
                if self.recorder.active:
                    detection = None  # the name was heard already: what follows is the command
                opens, relay = self._relay(end, opens, level)
        cmd = machine.step(end, opens, voice, lapsed, relay)
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
                self._learn_room(end, detection is not None and not was_open, opened, voice, cmd)
            except Exception:  # learning is optional; detection and the noise are not
                log.exception("room learning failed; it is off until the next restart")
                self.room = None
        self._apply(cmd)

    def _learn_room(self, end: int, detected: bool, opened: bool, voice: bool, cmd: Command) -> None:
        """Tell the room collector what was heard, and whether a wake-word window carried a command."""
        assert self.room is not None
        assert isinstance(self.detector, Detector)  # a room collector is only kept beside a wake word
        self.room.observe(self.detector.last_score, end, voice, self.detector.window)
        if detected:
            self.room.detected(end)
        if opened:  # with the detection, or after the command was recorded to be relayed
            self.prelude_end, self.command_heard = self.machine.last_voice, self.machine.relay > 0
        elif self.prelude_end is not None:
            # An owner speaks the command right after "Alexa"; talk that merely goes on may start later.
            self.command_heard |= voice and self.prelude_end < end <= self.prelude_end + COMMAND_START
            if cmd.reason:
                self.room.window_closed(end, self.command_heard)
                self.prelude_end = None

    def _relay(self, end: int, heard: bool, level: float) -> tuple[bool, int]:
        """Relay mode, while jamming: record after the wake name; then (open, samples of the command to relay)."""
        rec = self.recorder
        assert rec is not None
        if not rec.active:
            if heard:
                rec.start(end)
            return False, 0
        outcome = rec.step(end, level, self.cfg.window.voice_threshold_dbfs)
        if outcome is None:
            return False, 0
        if outcome == "pass":
            self.events(end / SAMPLE_RATE, "relay_fallback", reason="nothing said after the name")
            return True, 0
        cut = rec.cut
        n = rec.take(self.gate.arrays.clip, self.cfg.window.trigger_level_dbfs)
        self.last_relay = {"seconds": round(n / SAMPLE_RATE, 2), "cut": cut}
        self.events(end / SAMPLE_RATE, "relay_recorded", seconds=round(n / SAMPLE_RATE, 2), cut=cut)
        if cut:
            log.warning(
                "the command was longer than [window] relay_max_s = %g s: relayed its first %g s",
                self.cfg.window.relay_max_s,
                rec.cap / SAMPLE_RATE,
            )
        return True, n

    def _apply(self, cmd: Command) -> None:
        """Hand a state-machine command to the gate: a lease, or the noise back now."""
        if cmd.open_until:
            self.gate.grant(cmd.open_until, cmd.window, cmd.speak, cmd.relay)
        elif cmd.reason:
            self.close_reasons[cmd.window] = cmd.reason
            self.gate.revoke()
            if self.recorder is not None:
                self.gate.arrays.clip.fill(0.0)  # a relay cut short by the window's end is forgotten too

    def _owner_requests(self, end: int) -> bool:
        """Apply pause and resume requests; True when the owner's button asked for a window."""
        wake = False
        while True:
            try:
                kind, seconds = self.requests.get_nowait()
            except queue.Empty:
                return wake
            if kind == "wake":
                wake = True
            elif kind == "pause" or (kind == "toggle_pause" and not self.machine.paused):
                try:
                    self._apply(self.machine.pause(end, seconds))
                except ValueError as exc:  # a bad request changes nothing: the noise stays on
                    log.error("%s", exc)
                    continue
                self.events(end / SAMPLE_RATE, "paused", seconds=seconds)
            elif kind in ("resume", "toggle_pause"):
                self._apply(self.machine.resume())

    def state(self) -> tuple[str, float]:
        """'jamming', 'window' or 'paused', and the seconds a pause has left (any thread may ask)."""
        if not self.gate.is_open:
            return "jamming", 0.0
        if self.machine.paused:
            return "paused", max(0.0, (self.machine.hard_end - self.gate.counter) / SAMPLE_RATE)
        return "window", 0.0

    def drain_gate_events(self) -> None:
        """Turn what the callback recorded into timeline events, with the reason the noise came back."""
        gate = self.gate
        while self.events_read < gate.events_written:
            sample, code, window = (int(v) for v in gate.events[self.events_read % len(gate.events)])
            self.events_read += 1
            fields: dict[str, object] = {"window": window}
            if code == JAM_ON:
                fields["reason"] = self.close_reasons.pop(window, "lease_expired")
            self.events(sample / SAMPLE_RATE, EVENT_NAMES[code], **fields)

    def counters(self) -> dict[str, int]:
        """Dropped and late audio, and detector failures, for the status report."""
        return {
            "dropped_blocks": self.ring.dropped - self.dropped_before,
            "xruns": self.gate.xruns,
            "detector_errors": self.detector_errors,
            "detections": self.detections,
        }


class JamOnly:
    """A detector that never fires: the device jams when the wake-word model is missing or broken."""

    name = ""
    last_score = 0.0

    def process(self, frame: np.ndarray, end_sample: int) -> Detection | None:
        """Never a detection."""
        return None


def sleep_wait(seconds: float) -> Callable[[], None]:
    """A worker wait for real audio: the callback cannot signal without a lock, so poll."""
    return lambda: time.sleep(seconds)


def realtime_wait(cfg: Config) -> Callable[[], None]:
    """The worker's wait on a live stream: once a detector frame, which it cannot use before it is whole."""
    return sleep_wait(max(cfg.audio.block, FRAME) / SAMPLE_RATE)
