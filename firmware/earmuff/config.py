"""Device configuration: frozen dataclasses loaded from config.toml, and the one way to edit that file."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from earmuff.paths import Paths
from earmuff.schema import ConfigError, _choices, _range, build

SAMPLE_RATE = 16000
FRAME = 1280  # openWakeWord's 80 ms step
MIC_FULL_SCALE_DB_SPL = 120.0
VOICE_FAMILIES = ("espeak-ng", "flite", "piper", "festival", "rhvoice", "pico", "mbrola", "kokoro")
# Kokoro is off by default: alone it lowered recall at one seed (docs/benchmarks.md) at 12x Piper's CPU and 220 MB.
DEFAULT_VOICES = VOICE_FAMILIES[:-1]  # microphone sensitivity: 0 dBFS RMS is 120 dB SPL (-26 dBFS at 94 dB SPL)


@dataclass(frozen=True)
class NoiseConfig:
    """The masking noise played into the smart speaker's microphones."""

    level_dbfs: float = field(default=-20.0, metadata=_range(-60.0, -3.0))  # the fixed level, or the adaptive maximum
    adaptive: bool = True  # quieter in a quiet room, louder as soon as people talk
    quiet_level_dbfs: float = field(default=-32.0, metadata=_range(-60.0, -3.0))  # adaptive minimum
    margin_db: float = field(
        default=25.0, metadata=_range(0.0, 50.0)
    )  # noise above the room's speech, at the smart speaker
    cup_coupling_db_spl: float = field(
        default=110.0, metadata=_range(60.0, 130.0)
    )  # the built shield: docs/hardware.md
    hold_s: float = field(default=2.0, metadata=_range(0.0, 120.0))  # stay loud this long after the last speech
    release_db_s: float = field(default=6.0, metadata=_range(0.1, 60.0))
    modulation_depth: float = field(default=0.5, metadata=_range(0.0, 0.9))
    ramp_ms: float = field(default=20.0, metadata=_range(1.0, 200.0))
    kind: str = field(default="speech", metadata=_choices("white", "pink", "speech"))  # spectrum; equal RMS


@dataclass(frozen=True)
class WakeConfig:
    """The owner's wake name and how sure the detector must be."""

    wake_word: str = "hey jarvis"
    threshold: float = field(default=0.5, metadata=_range(0.01, 0.99))
    consecutive_frames: int = field(default=1, metadata=_range(1, 10))
    refractory_s: float = field(default=2.0, metadata=_range(0.0, 30.0))


@dataclass(frozen=True)
class WindowConfig:
    """The pass-through window that opens after the wake name."""

    trigger: str = "alexa"  # alexa | hey_google | ok_google | path to a WAV file
    # RMS, 90 dB SPL in the cup. microWakeWord's front end is still adapted to the noise that stopped 0.5 s earlier
    # (at 65 dB SPL it missed the trigger), and in a relay the owner's live command leaks in under it (at 85 dB SPL
    # openWakeWord missed it behind close, loud speakers; docs/benchmarks.md, relay).
    trigger_level_dbfs: float = field(default=-20.0, metadata=_range(-80.0, -6.0))
    pre_roll_s: float = field(default=0.5, metadata=_range(0.0, 2.0))
    quiet_s: float = field(default=1.5, metadata=_range(0.3, 10.0))
    max_s: float = field(default=20.0, metadata=_range(3.0, 60.0))
    lease_s: float = field(default=0.4, metadata=_range(0.2, 2.0))
    voice_threshold_dbfs: float = field(default=-72.0, metadata=_range(-100.0, -20.0))
    # Relay: jam through the wake name; as the command begins play "Alexa", then the command as a delay line.
    relay: bool = True  # measured better than pass-through for one-breath commands: docs/benchmarks.md, relay
    relay_max_s: float = field(default=8.0, metadata=_range(2.0, 15.0))  # a longer command is cut here (and says so)
    # The relayed command's RMS: 70 dB SPL in the cup, a close speaking level, the least leakage into the room. Louder,
    # pocketsphinx found no more of its words at the smart speaker's microphone (docs/benchmarks.md, relay).
    relay_level_dbfs: float = field(default=-40.0, metadata=_range(-80.0, -6.0))


@dataclass(frozen=True)
class AudioConfig:
    """Sound devices and the real-time block size."""

    input: str = ""  # device name or index; empty: the system default
    output: str = ""
    block: int = field(default=320, metadata=_range(64, 4096))
    channels: int = field(default=2, metadata=_range(1, 8))
    echo_cancel: str = field(default="fdaf", metadata=_choices("none", "fdaf"))


@dataclass(frozen=True)
class PauseConfig:
    """The owner's pause (long button press, `earmuff pause`): noise off for a bounded time."""

    default_minutes: float = field(default=10.0, metadata=_range(1.0, 60.0))
    max_per_hour: int = field(default=6, metadata=_range(1, 60))  # pauses the control socket grants per hour


@dataclass(frozen=True)
class GpioConfig:
    """The button and status light (BCM pin numbers); defaults: ReSpeaker 2-Mics Pi HAT v1."""

    enabled: bool = True
    button: int = field(default=17, metadata=_range(0, 27))
    long_press_s: float = field(default=1.5, metadata=_range(0.5, 10.0))
    light: str = field(default="apa102", metadata=_choices("apa102", "rgb", "none"))
    red: int = field(default=5, metadata=_range(0, 27))  # pins of a plain RGB LED (light = "rgb")
    green: int = field(default=6, metadata=_range(0, 27))
    blue: int = field(default=13, metadata=_range(0, 27))
    brightness: float = field(default=0.2, metadata=_range(0.0, 1.0))


@dataclass(frozen=True)
class ControlConfig:
    """Where the daemon listens for `earmuff status|pause|resume|reload`."""

    socket: str = ""  # empty: control.sock in the runtime directory (/run/earmuff)
    admin_group: str = "earmuff-admin"  # its members may use the socket, besides root and the service's user


@dataclass(frozen=True)
class WakeWordTrainingConfig:
    """Training custom wake words from a typed phrase, and learning the room's speech."""

    positives: int = field(default=200, metadata=_range(20, 5000))  # synthesized utterances of the phrase
    copies: int = field(default=2, metadata=_range(1, 10))  # augmented copies of each
    negative_sentences: int = field(default=200, metadata=_range(20, 20000))
    target_false_accepts_per_hour: float = field(default=0.5, metadata=_range(0.0, 100.0))
    hidden_units: int = field(default=64, metadata=_range(4, 512))
    owner_weight: float = field(default=4.0, metadata=_range(1.0, 100.0))  # an owner's take counts this many times
    rounds: int = field(default=3, metadata=_range(1, 5))  # trainings on fresh synthetic audio, averaged
    # Voice families that say the training audio (where installed; models/README.md has their licences).
    # "mbrola": its voices may not be sold or built into a sold product; remove it here for such a product.
    voices: tuple[str, ...] = field(default=DEFAULT_VOICES, metadata=_choices(*VOICE_FAMILIES))
    # Recorded people's speech shipped in models/speech_bank.npz (CC-BY-SA-3.0): hard negatives, and the threshold.
    speech_bank: bool = True
    # `set` installs a quick model (quick_rounds, no neural voices); the service then trains the full one at low
    # priority and switches to it if it scores better on held-back synthetic data. false: `set` trains the full one.
    background: bool = True
    quick_rounds: int = field(default=1, metadata=_range(1, 5))
    room_bank: bool = True  # keep embedding windows (never audio) of the household's speech, to refit on
    room_bank_max: int = field(default=10000, metadata=_range(100, 200000))  # 3 kB each; ~5 h of speech
    room_bank_max_days: float = field(default=90.0, metadata=_range(1.0, 3650.0))  # older windows are deleted
    recordings_max: int = field(default=50, metadata=_range(5, 500))  # the owner's takes kept per wake word, newest
    refit_hours: float = field(default=24.0, metadata=_range(0.1, 720.0))  # at most one room refit this often
    refit_min_windows: int = field(default=1000, metadata=_range(10, 200000))  # new room windows before a refit
    refit_idle_minutes: float = field(default=10.0, metadata=_range(0.0, 1440.0))  # no voice for this long first


@dataclass(frozen=True)
class Config:
    """Everything the device reads from config.toml."""

    noise: NoiseConfig = NoiseConfig()
    wake: WakeConfig = WakeConfig()
    window: WindowConfig = WindowConfig()
    audio: AudioConfig = AudioConfig()
    wakeword: WakeWordTrainingConfig = WakeWordTrainingConfig()
    pause: PauseConfig = PauseConfig()
    gpio: GpioConfig = GpioConfig()
    control: ControlConfig = ControlConfig()


def load(path: Path) -> Config:
    """Load config.toml (`Paths.config`); a missing file gives the defaults."""
    if not path.exists():
        return Config()
    return parse(path.read_bytes(), path)


def parse(data: bytes, path: Path) -> Config:
    """Build a Config from the bytes of a TOML file read from `path` (named in errors)."""
    try:
        table = tomllib.loads(data.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    try:
        return build(Config, table, "")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load_or_last_good(paths: Paths) -> tuple[Config, str | None]:
    """Load config.toml; if it is bad, the last good copy (or the defaults), with a sentence saying so."""
    path, backup = paths.config, paths.last_good
    try:
        data = path.read_bytes() if path.exists() else None
        cfg = parse(data, path) if data is not None else Config()
    except (ConfigError, OSError) as exc:
        try:
            return parse(backup.read_bytes(), backup), f"{exc}; using the last good config {backup}"
        except (ConfigError, OSError):
            return Config(), f"{exc}; using the built-in defaults (no usable last good config at {backup})"
    if data is not None:
        try:
            atomic_write(backup, data)
        except OSError as exc:
            return cfg, f"cannot save the last good config {backup}: {exc}"
    return cfg, None


def edit(edits: Iterable[tuple[str, str, Any]], path: Path) -> Config:
    """Set `[table] key = value` in config.toml keeping its comments and layout; check the result, then replace it."""
    import tomlkit

    data = path.read_bytes() if path.exists() else b""
    try:
        doc = tomlkit.parse(data.decode())
    except (tomlkit.exceptions.ParseError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); it was not changed") from exc
    for table, key, value in edits:
        if not isinstance(doc.setdefault(table, tomlkit.table()), dict):
            raise ConfigError(f"{path}: {table} = {doc[table]!r}: expected a table [{table}]; it was not changed")
        doc[table][key] = value
    new = tomlkit.dumps(doc).encode()
    try:
        cfg = parse(new, path)  # never install a config the device could not read
    except ConfigError as exc:
        raise ConfigError(f"{exc}; it was not changed") from None
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    atomic_write(path, new, mode)
    return cfg


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` so readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
