#!/usr/bin/env python3
"""Synthesize the trigger WAVs, choosing the TTS voice by wake-word detector scores."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16000
PEAK_DBFS = -3.0
MARGIN_S = 0.05
SILENCE_DB = -40.0  # trim threshold relative to the clip peak
QUIET_DB = -10.0
NOISE_SNR_DB = 10.0
NOISE_SEEDS = (0, 1, 2, 3, 4)
TRIGGERS = {"alexa": "Alexa", "hey_google": "Hey Google", "ok_google": "OK Google"}


@dataclass(frozen=True)
class Voice:
    """One TTS setting: engine, voice name, speed and pitch."""

    engine: str  # "espeak-ng" or "flite"
    name: str
    speed: float  # espeak-ng: words per minute; flite: duration_stretch
    pitch: int = 50  # espeak-ng only

    def command(self, text: str, out: str) -> list[str]:
        """Return the synthesis command line."""
        if self.engine == "espeak-ng":
            return ["espeak-ng", "-v", self.name, "-s", str(int(self.speed)), "-p", str(self.pitch), "-w", out, text]
        return ["flite", "-voice", self.name, "--setf", f"duration_stretch={self.speed}", "-t", text, "-o", out]

    def label(self) -> str:
        """Return a short human-readable label."""
        if self.engine == "espeak-ng":
            return f"espeak-ng {self.name} -s {int(self.speed)} -p {self.pitch}"
        return f"flite {self.name} stretch {self.speed}"


FLITE_VOICES = ("kal", "kal16", "slt", "awb", "rms")
CANDIDATES = [Voice("flite", v, s) for v in FLITE_VOICES for s in (0.9, 1.0, 1.1, 1.2, 1.3)] + [
    Voice("espeak-ng", v, s)
    for v in ("en-us", "en-us+f3", "en-us+f2", "en-us+m3", "en-gb", "en-gb-x-rp", "en-029")
    for s in (130, 150, 175)
]


def resample_command(src: str, dst: str) -> list[str]:
    """Return the sox command converting to 16 kHz mono 16-bit (no dither, so deterministic)."""
    return ["sox", "-D", src, "-r", str(RATE), "-c", "1", "-b", "16", dst]


def synthesize(voice: Voice, text: str) -> np.ndarray:
    """Run the TTS engine and sox; return 16 kHz mono int16 samples."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = os.path.join(tmp, "raw.wav"), os.path.join(tmp, "out.wav")
        subprocess.run(voice.command(text, raw), check=True, capture_output=True)
        subprocess.run(resample_command(raw, out), check=True)
        return read_wav(Path(out))


def read_wav(path: Path) -> np.ndarray:
    """Read a 16-bit mono WAV as int16."""
    import soundfile as sf

    data, rate = sf.read(path, dtype="int16")
    assert rate == RATE and data.ndim == 1, f"{path}: need {RATE} Hz mono"
    return data


def trim_and_normalize(x: np.ndarray) -> np.ndarray:
    """Trim silence to MARGIN_S each side and scale the peak to PEAK_DBFS."""
    f = x.astype(np.float64)
    loud = np.flatnonzero(np.abs(f) > np.abs(f).max() * 10 ** (SILENCE_DB / 20))
    m = int(MARGIN_S * RATE)
    f = np.pad(f[loud[0] : loud[-1] + 1], m)  # exact 50 ms digital-silence margins
    f *= 32767 * 10 ** (PEAK_DBFS / 20) / np.abs(f).max()
    return np.round(f).astype(np.int16)


class Detectors:
    """openWakeWord and microWakeWord 'alexa' models, scored on whole clips."""

    def __init__(self) -> None:
        """Load both models."""
        import pyopen_wakeword
        from openwakeword import Model
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures
        from pymicro_wakeword import Model as MwwModel

        d = os.path.join(os.path.dirname(pyopen_wakeword.__file__), "models")
        self.oww = Model(
            wakeword_models=[f"{d}/alexa.tflite"],
            inference_framework="tflite",
            melspec_model_path=f"{d}/melspectrogram.tflite",
            embedding_model_path=f"{d}/embedding_model.tflite",
        )
        self.mww = MicroWakeWord.from_builtin(MwwModel.ALEXA)
        self.mww_features = MicroWakeWordFeatures()

    def openwakeword(self, a: np.ndarray) -> float:
        """Return openWakeWord's max alexa score over an (already padded) int16 signal."""
        np.random.seed(0)
        self.oww.reset()
        return max(float(self.oww.predict(a[i : i + 1280])["alexa"]) for i in range(0, len(a) - 1279, 1280))

    def microwakeword(self, a: np.ndarray) -> float:
        """Return microWakeWord's max (window-averaged) alexa probability over an int16 signal."""
        self.mww.reset()
        self.mww_features.reset()
        probs = [self.mww.process_streaming_prob(f) for f in self.mww_features.process_streaming(a.tobytes())]
        return max(float(p or 0.0) for p in probs)

    def both(self, a: np.ndarray) -> tuple[float, float]:
        """Return (openWakeWord, microWakeWord) scores."""
        return self.openwakeword(a), self.microwakeword(a)


def pad(x: np.ndarray) -> np.ndarray:
    """Pad 1 s of digital silence before and after."""
    return np.pad(x.astype(np.int16), RATE)


def conditions(x: np.ndarray) -> dict[str, list[np.ndarray]]:
    """Return the padded clean clip, the clip at QUIET_DB, and noisy copies at NOISE_SNR_DB."""
    f = x.astype(np.float64)
    sigma = np.sqrt(np.mean(f**2) / 10 ** (NOISE_SNR_DB / 10))
    noisy = []
    for seed in NOISE_SEEDS:
        padded = np.pad(f, RATE) + np.random.default_rng(seed).normal(0, sigma, len(f) + 2 * RATE)
        noisy.append(np.clip(np.round(padded), -32768, 32767).astype(np.int16))
    quiet = np.round(f * 10 ** (QUIET_DB / 20)).astype(np.int16)
    return {"clean": [pad(x)], "quiet": [pad(quiet)], "noisy": noisy}


def score(det: Detectors, x: np.ndarray) -> dict[str, float]:
    """Score a clip: per condition and detector (mean over noise seeds), plus the worst case."""
    out: dict[str, float] = {}
    for cond, clips in conditions(x).items():
        pairs = np.array([det.both(c) for c in clips]).mean(axis=0)
        out[f"{cond}_oww"], out[f"{cond}_mww"] = float(pairs[0]), float(pairs[1])
    per = list(out.values())
    out["worst"], out["mean"] = min(per), float(np.mean(per))
    return out


def choose_voice(det: Detectors) -> tuple[Voice, list[tuple[Voice, dict[str, float]]]]:
    """Score every candidate saying 'Alexa'; return the best (worst case, then mean) and the table."""
    table = [(v, score(det, trim_and_normalize(synthesize(v, TRIGGERS["alexa"])))) for v in CANDIDATES]
    best = max(table, key=lambda r: (round(r[1]["worst"], 3), round(r[1]["mean"], 4)))
    return best[0], table


def write_wav(path: Path, x: np.ndarray) -> str:
    """Write int16 16 kHz mono PCM WAV and return its sha256."""
    import soundfile as sf

    sf.write(path, x, RATE, subtype="PCM_16", format="WAV")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tool_version(cmd: list[str]) -> str:
    """Return the first non-empty line mentioning a version from a tool's --version output."""
    p = subprocess.run(cmd, capture_output=True, text=True)
    lines = [ln.strip() for ln in (p.stdout + p.stderr).splitlines() if ln.strip()]
    return next((ln for ln in lines if "version" in ln.lower() or "eSpeak" in ln), lines[0] if lines else "?")


def pkg(name: str) -> str:
    """Return an installed Python package's version."""
    from importlib.metadata import version

    return version(name)


def provenance(voice: Voice, files: dict[str, tuple[list[str], str, float]], table: list, scores: dict) -> str:
    """Render PROVENANCE.md."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    date = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    resample = " ".join(resample_command("raw.wav", "out.wav"))
    lines = [
        "# Trigger audio provenance",
        "",
        "Generated by `scripts/make_trigger_audio.py` (do not edit by hand; re-run the script).",
        "",
        f"- Date (UTC): {date:%Y-%m-%d %H:%M}",
        f"- espeak-ng: `{tool_version(['espeak-ng', '--version'])}`",
        f"- flite: `{tool_version(['flite', '--version'])}`",
        f"- sox: `{tool_version(['sox', '--version'])}`",
        f'- Chosen voice: **{voice.label()}**: highest worst case over both detectors and all conditions for "Alexa"'
        " (ties broken by the mean); reused for the Google phrases, for which no detector exists",
        f"- Pipeline: TTS -> `{resample}` -> trim silence below {SILENCE_DB:g} dB re peak,"
        f" keep {MARGIN_S * 1000:g} ms digital silence each side -> peak {PEAK_DBFS:g} dBFS -> 16 kHz mono PCM16 WAV",
        "",
        "## Licence",
        "",
        "These WAVs are our own synthesis output. espeak-ng is GPL-3.0-or-later and flite is under a BSD-like",
        "(CMU) licence; neither licence applies to audio they generate, so the files are covered by this",
        "project's licence. No recordings of real people or third-party audio were used.",
        "",
        "## Files",
        "",
        "| file | text | command | duration (s) | sha256 |",
        "|---|---|---|---|---|",
    ]
    for name, (cmd, sha, dur) in files.items():
        lines.append(f"| {name}.wav | {TRIGGERS[name]} | `{shlex.join(cmd)}` | {dur:.3f} | {sha} |")
    lines += [
        "",
        "## Detector scores for the shipped alexa.wav",
        "",
        f"openWakeWord `alexa.tflite` (openwakeword {pkg('openwakeword')}, pyopen-wakeword {pkg('pyopen-wakeword')})"
        f" and microWakeWord `alexa` (pymicro-wakeword {pkg('pymicro-wakeword')}): oww/mww below;",
        f"max score over the clip padded with 1 s silence; quiet = clip at {QUIET_DB:g} dB;"
        f" noisy = white noise at {NOISE_SNR_DB:g} dB SNR (mean of seeds {list(NOISE_SEEDS)}).",
        "0.996 is the ceiling of microWakeWord's quantised output.",
        "These detectors are proxies: no real smart speaker was tested.",
        "",
        *[f"- {k}: {v:.3f}" for k, v in scores.items()],
        "",
        '## Voice search ("Alexa")',
        "",
        "| voice | clean oww | clean mww | quiet oww | quiet mww | noisy oww | noisy mww | worst | mean |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v, s in sorted(table, key=lambda r: (-round(r[1]["worst"], 3), -r[1]["mean"])):
        keys = ("clean_oww", "clean_mww", "quiet_oww", "quiet_mww", "noisy_oww", "noisy_mww", "worst", "mean")
        cols = [s[k] for k in keys]
        lines.append(f"| {v.label()} | " + " | ".join(f"{c:.3f}" for c in cols) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Pick the voice, write the WAVs and PROVENANCE.md."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("models/triggers"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    det = Detectors()
    voice, table = choose_voice(det)
    files = {}
    for name, text in TRIGGERS.items():
        x = trim_and_normalize(synthesize(voice, text))
        files[name] = (voice.command(text, "raw.wav"), write_wav(args.out / f"{name}.wav", x), len(x) / RATE)
    scores = score(det, read_wav(args.out / "alexa.wav"))
    (args.out / "PROVENANCE.md").write_text(provenance(voice, files, table, scores))
    print(f"chosen: {voice.label()}  scores: {scores}")


if __name__ == "__main__":
    main()
