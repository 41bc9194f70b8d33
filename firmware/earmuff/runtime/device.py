"""The firmware's data path: mic -> echo cancel -> detector -> state machine -> noise gate -> speaker.

The audio callback only copies blocks in and out; the worker (`start_worker`) does everything heavy; the
owner of the Device supervises. The gate decides on its own to jam whenever the worker's lease has run out.
On the real device the callback and gate run in the audio process (`audio_process.py`) and this Device
is attached to them through shared memory (`audio=`); the simulator and tests run both in one process.
What the worker decides on each frame is `frame_step.py`; the owner's requests `owner.py`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol, cast

import numpy as np

from earmuff.audio.echo_path import EchoPath
from earmuff.audio.files import AudioFileError, trigger_audio
from earmuff.audio.noise import NoiseGenerator
from earmuff.config import FRAME, SAMPLE_RATE, Config
from earmuff.runtime.detector import Detection, Detector
from earmuff.runtime.faults import FaultInjector
from earmuff.runtime.frame_step import FrameStep
from earmuff.runtime.lease import EVENT_NAMES, JAM_ON
from earmuff.runtime.noise_gate import NoiseGate
from earmuff.runtime.playback import build_gate, make_noise, play_block, ring_slots, scaled_trigger
from earmuff.runtime.ring import BlockRing
from earmuff.runtime.room_watch import RoomCollector
from earmuff.runtime.self_check import Expected, SelfCheck
from earmuff.runtime.shared import GateView, SharedAudio

log = logging.getLogger(__name__)

BATCH = 8  # blocks the worker takes in one pass at most


class EventSink(Protocol):
    """Receives the timeline: t in seconds of audio, an event name, and its fields."""

    def __call__(self, t: float, event: str, **fields: object) -> None: ...


class Device(FrameStep):
    """One earmuff: owns the gate, the ring between the threads, and the worker's pipeline."""

    def __init__(
        self,
        cfg: Config,
        events: EventSink,
        detector: Detector | JamOnly,
        faults: FaultInjector | None = None,
        max_block: int = 4096,
        seed: int = 0,
        room: RoomCollector | None = None,
        audio: SharedAudio | None = None,
        expected: Expected | None = None,
    ) -> None:
        channels = cfg.audio.channels
        gate: NoiseGate | GateView
        if audio is None:
            self.noise: NoiseGenerator | None
            self.noise, table = make_noise(cfg, seed)
            gate = build_gate(cfg, scaled_trigger(cfg), table, max_block)
            self.ring = BlockRing(ring_slots(cfg.audio.block), max_block, 1 + channels)
            trigger_len = len(gate.trigger)
        else:  # the audio process plays the noise and the trigger; this side only needs the trigger's length
            gate, self.noise = GateView(audio.gate), None
            self.ring = BlockRing(0, 0, 0, audio.ring)
            self.ring.skip()
            gate.revoke()  # a lease left by a listener that died ends now
            gate.arrays.clip.fill(0.0)  # and the rest of a command it was relaying is forgotten
            try:
                trigger_len = len(trigger_audio(cfg.window.trigger))
            except AudioFileError:
                trigger_len = 0  # the audio process says why, and says no trigger
        check = SelfCheck(expected, cfg.audio.block)  # expected: what calibration measured, if it ran
        super().__init__(cfg, events, faults or FaultInjector(), detector, room, gate, check, trigger_len)
        self._row = np.zeros((max_block, 1 + channels), np.float32)  # the callback's: it copies, never allocates
        # The worker's own, besides the frame step's:
        self.echo = EchoPath(cfg.audio.echo_cancel, channels)
        self.frame = np.zeros(FRAME, np.float32)
        self.frame_fill = 0
        self.played_power = 0.0  # summed over the frame being filled: what the first speaker played ...
        self.mic_power = 0.0  # ... and what the microphone heard before echo cancellation
        self.events_read = gate.events_written  # an attached listener reports from now on
        self.dropped_before = self.ring.dropped  # blocks no listener was there to take are not this one's
        self.processed = 0  # blocks the worker has finished
        self.worker_error: BaseException | None = None
        # The supervisor's: the worker thread, and the flag that stops it.
        self.stopping = threading.Event()
        self.worker: threading.Thread | None = None
        # Set and cleared by whoever records takes (the control thread): sees what the detector hears.
        self.listen_tap: Callable[[int, np.ndarray], None] | None = None

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
        """Echo-cancel contiguous rows (mic, played...) from sample `start` and step frame by frame."""
        self.faults.check("worker", start, self.events)
        # With the noise off the canceller hears only the trigger and the relay, under the owner's voice: it keeps
        # the echo path it learnt on the noise rather than learn the owner's voice as echo.
        self.echo.freeze(self.machine.is_open)
        clean = self.echo.process(rows[:, 0], rows[:, 1:])
        if self.listen_tap:
            self.listen_tap(start, clean)
        pos = 0
        while pos < len(clean):
            n = min(FRAME - self.frame_fill, len(clean) - pos)
            self.frame[self.frame_fill : self.frame_fill + n] = clean[pos : pos + n]
            out, mic = rows[pos : pos + n, 1], rows[pos : pos + n, 0]
            self.played_power += float(np.dot(out, out))
            self.mic_power += float(np.dot(mic, mic))
            self.frame_fill += n
            pos += n
            if self.frame_fill == FRAME:
                self.frame_fill = 0
                self.played_db = 10 * np.log10(self.played_power / FRAME + 1e-12)  # the relay's own echo is no voice
                self.mic_db = 10 * np.log10(self.mic_power / FRAME + 1e-12)
                self.played_power = self.mic_power = 0.0
                self.step(self.frame, start + pos)

    # --- status: any thread may ask -------------------------------------------------------------------

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
