"""The built-in demo scene: a guest asks Alexa (unheard), then the owner says the wake name and a command in one
breath (relayed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from earmuff.audio.files import read_audio, write_wav
from earmuff.config import SAMPLE_RATE
from earmuff.sim.simulate import SimResult

# (file, engine, voice, text, start_s, distance_m, level_db_spl)
LINES = (
    ("guest.wav", "flite", "awb", "Alexa, what time is it?", 1.0, 1.5, 62.0),
    ("owner.wav", "flite", "kal16", "hey jarvis, what is the weather tomorrow", 6.0, 1.0, 65.0),
    ("answer.wav", "flite", "slt", "Tomorrow will be sunny, with a high of twenty degrees.", 10.9, 0.3, 65.0),
)
DURATION_S = 19.0


def synthesize(engine: str, voice: str, text: str, path: Path) -> None:
    """Speak `text` into a 16 kHz WAV with espeak-ng or flite."""
    if shutil.which(engine) is None:
        raise RuntimeError(f"{engine} is not installed; run scripts/setup.sh (it installs espeak-ng and flite)")
    raw = path.with_suffix(".raw.wav")
    cmd = (
        ["espeak-ng", "-v", voice, "-w", str(raw), text]
        if engine == "espeak-ng"
        else ["flite", "-voice", voice, "-t", text, "-o", str(raw)]
    )
    subprocess.run(cmd, check=True, capture_output=True)
    write_wav(path, read_audio(raw))
    raw.unlink()


def write_scene(folder: Path) -> Path:
    """Synthesize the demo's voices and write demo.toml beside them; return the scene path."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"duration_s = {DURATION_S}", "seed = 1", 'wake_word = "hey jarvis"', ""]
    for file, engine, voice, text, start, distance, level in LINES:
        synthesize(engine, voice, text, folder / file)
        lines += [
            f"[[source]]  # {text}",
            f'file = "{file}"',
            f"start_s = {start}",
            f"distance_m = {distance}",
            f"level_db_spl = {level}",
            "",
        ]
    scene = folder / "demo.toml"
    scene.write_text("\n".join(lines))
    return scene


def plot(result: SimResult, path: Path) -> None:
    """One PNG: spectrograms of what the smart speaker and earmuff heard, with the events marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(13, 8), sharex=True, height_ratios=[3, 3, 1])
    for ax, (title, audio) in zip(
        axes,
        (
            ("What the smart speaker hears (its microphone, under earmuff's cup)", result.echo_mic),
            ("What earmuff hears (its microphone after echo cancellation)", result.heard),
        ),
    ):
        ax.specgram(audio + 1e-7, NFFT=512, Fs=SAMPLE_RATE, noverlap=384, cmap="magma", vmin=-150, vmax=-40)
        ax.set_title(title, fontsize=10, loc="left")
        ax.set_ylabel("Hz")
    t = np.arange(len(result.speaker_out)) / SAMPLE_RATE
    axes[2].plot(t, result.speaker_out, lw=0.3, color="tab:blue")
    axes[2].set_title("What earmuff plays (noise, the trigger phrase, the relayed command)", fontsize=10, loc="left")
    axes[2].set_xlabel("seconds")
    colours = {
        "wake_detected": "lime",
        "jam_off": "cyan",
        "trigger_start": "yellow",
        "relay_start": "orange",
        "relay_end": "orange",
        "jam_on": "red",
    }
    for e in result.events:
        if e["event"] in colours:
            for ax in axes:
                ax.axvline(e["t"], color=colours[e["event"]], lw=1.2, ls="--")
            axes[0].text(
                e["t"],
                SAMPLE_RATE / 2 * 0.93,
                e["event"],
                color=colours[e["event"]],
                fontsize=8,
                rotation=90,
                va="top",
                ha="right",
            )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def timeline_text(events: list[dict]) -> str:
    """The events as aligned lines a person can read."""
    rows = []
    for e in events:
        extra = ", ".join(f"{k}={v}" for k, v in e.items() if k not in ("t", "event"))
        rows.append(f"  {e['t']:7.2f} s  {e['event']:<14} {extra}")
    return "\n".join(rows)
