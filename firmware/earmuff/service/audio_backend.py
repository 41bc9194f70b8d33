"""Real sound devices through PortAudio (sounddevice): a full-duplex stream whose callback only copies."""

from __future__ import annotations

from dataclasses import dataclass

from earmuff.config import SAMPLE_RATE, AudioConfig


class AudioDeviceError(RuntimeError):
    """No usable sound device: the message lists the devices that were found."""


def list_devices() -> list[dict]:
    """The sound devices PortAudio sees, as dicts with index, name and channel counts."""
    import sounddevice as sd

    return [dict(d, index=i) for i, d in enumerate(sd.query_devices())]


def rescan() -> None:
    """Let PortAudio list the devices again (it lists them once, when sounddevice is imported)."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


def describe_devices() -> str:
    """A readable table of the devices found, or a plain sentence when there are none."""
    devices = list_devices()
    if not devices:
        return "no sound devices found (is a sound card or the audio HAT's overlay enabled?)"
    return "\n".join(
        f"  [{d['index']}] {d['name']}  (in: {d['max_input_channels']}, out: {d['max_output_channels']})"
        for d in devices
    )


@dataclass(frozen=True)
class DeviceChoice:
    """The input and output device indices to open."""

    input: int
    output: int


def choose(cfg: AudioConfig) -> DeviceChoice:
    """Resolve the configured devices (name, index or default) or raise AudioDeviceError listing what exists."""
    import sounddevice as sd

    devices = list_devices()

    def pick(wanted: str, kind: str) -> int:
        key = "max_input_channels" if kind == "input" else "max_output_channels"
        need = 1 if kind == "input" else cfg.channels
        if wanted == "":
            default = sd.default.device[0 if kind == "input" else 1]
            if default is not None and default >= 0 and devices[default][key] >= need:
                return int(default)
            matches = [d for d in devices if d[key] >= need]
        elif wanted.isdigit():
            matches = [d for d in devices if d["index"] == int(wanted) and d[key] >= need]
        else:
            matches = [d for d in devices if wanted.lower() in d["name"].lower() and d[key] >= need]
        if not matches:
            raise AudioDeviceError(
                f"{kind} device {wanted or '(default)'!r}: none found with at least {need} {kind} channel(s).\n"
                f"Devices found:\n{describe_devices()}"
            )
        return int(matches[0]["index"])

    return DeviceChoice(pick(cfg.input, "input"), pick(cfg.output, "output"))


def start_stream(cfg: AudioConfig, choice: DeviceChoice, callback):
    """Open and start a full-duplex float32 stream at 16 kHz calling callback(mic, out, late)."""
    import sounddevice as sd

    def on_audio(indata, outdata, frames, time, status) -> None:
        callback(indata[:, 0], outdata, bool(status))

    try:
        stream = sd.Stream(
            samplerate=SAMPLE_RATE,
            blocksize=cfg.block,
            device=(choice.input, choice.output),
            channels=(1, cfg.channels),
            dtype="float32",
            callback=on_audio,
            latency="low",
        )
        stream.start()
        return stream
    except sd.PortAudioError as exc:
        raise AudioDeviceError(
            f"cannot open devices {choice.input} (input) and {choice.output} (output) at {SAMPLE_RATE} Hz: {exc}.\n"
            f"Devices found:\n{describe_devices()}"
        ) from exc
