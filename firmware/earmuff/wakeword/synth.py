"""Speech synthesis for training: espeak-ng, flite and a neural voice at many rates and pitches, as 16 kHz float32."""

from __future__ import annotations

import io
import os
import random
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from ..config import SAMPLE_RATE
from . import neural_voice

FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
NEURAL_SHARE = 0.25  # of English utterances said by the neural voice: the one voice that sounds like a person
_ODD = ("demonic", "unirobot", "robosoft", "whisper", "tweaky", "croak", "anikarobot", "klatt", "fast")
_ENGLISH_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")


@dataclass(frozen=True)
class Utterance:
    """One clip to synthesize: engine, voice (espeak 'lang+variant', flite name or 'joe'), rate and pitch."""

    text: str
    engine: str
    voice: str
    rate: float  # espeak words per minute, or flite / neural duration stretch
    pitch: int = 50  # espeak pitch 0-99, or the neural voice's prosody variation in hundredths


def variants() -> list[str]:
    """espeak-ng voice variants that sound like people (robotic and whispering ones left out)."""
    out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True).stdout
    names = [line.split()[4].split("/")[-1] for line in out.splitlines()[1:] if len(line.split()) > 4]
    return [n for n in names if not any(n.lower().startswith(o) for o in _ODD)]


def accents(lang: str, known: Iterable[str]) -> list[str]:
    """espeak-ng languages to speak `lang` in: every English accent for English, else the language itself."""
    if lang.split("-")[0] == "en":
        return [a for a in _ENGLISH_ACCENTS if a in set(known)] or [lang]
    return [lang]


def plan(text: str, lang: str, count: int, rng: random.Random, known: Iterable[str], exclude: frozenset[str] = frozenset()) -> list[Utterance]:
    """`count` varied utterances of `text`: in English a quarter flite, a quarter the neural voice; the rest espeak-ng."""
    vs = [v for v in variants() if v not in exclude]
    langs = [a for a in accents(lang, known) if a not in exclude]
    english = lang.split("-")[0] == "en"
    flites = [v for v in FLITE_VOICES if v not in exclude] if english else []
    neural = english and neural_voice.VOICE not in exclude and NEURAL_SHARE > 0
    out = []
    for _ in range(count):
        # Random, not every 4th: negatives are planned one at a time and must get every engine too,
        # or the model learns "sounds like flite" as the name.
        draw = rng.random() if flites or neural else 0.5  # no draw: other languages' plans stay as they were
        if neural and draw >= 1 - NEURAL_SHARE:
            out.append(Utterance(text, "neural", neural_voice.VOICE, rng.uniform(0.75, 1.35), rng.randint(30, 100)))
        elif flites and draw < 0.25:
            out.append(Utterance(text, "flite", rng.choice(flites), rng.uniform(0.75, 1.4)))
        else:
            voice = f"{rng.choice(langs)}+{rng.choice(vs)}" if vs and rng.random() < 0.85 else rng.choice(langs)
            out.append(Utterance(text, "espeak-ng", voice, rng.uniform(110, 230), rng.randint(15, 85)))
    return out


def speak(u: Utterance) -> np.ndarray:
    """Synthesize one utterance to 16 kHz mono float32."""
    if u.engine == "neural":
        return trim(neural_voice.speak(u.text, u.rate, u.pitch / 100))
    if u.engine == "espeak-ng":
        cmd = ["espeak-ng", "--stdout", "-v", u.voice, "-s", str(int(u.rate)), "-p", str(u.pitch), u.text]
        wav = subprocess.run(cmd, capture_output=True, check=True, timeout=60).stdout
    else:
        fd, path = tempfile.mkstemp(suffix=".wav")
        os.close(fd)
        try:
            cmd = ["flite", "-voice", u.voice, "--setf", f"duration_stretch={u.rate:.2f}", "-t", u.text, "-o", path]
            subprocess.run(cmd, capture_output=True, check=True, timeout=60)
            wav = open(path, "rb").read()
        finally:
            os.unlink(path)
    x, rate = sf.read(io.BytesIO(wav), dtype="float32", always_2d=True)
    x = x[:, 0]
    if rate != SAMPLE_RATE:
        g = np.gcd(rate, SAMPLE_RATE)
        x = resample_poly(x, SAMPLE_RATE // g, rate // g).astype(np.float32)
    return trim(x)


def trim(x: np.ndarray, floor_db: float = 40.0) -> np.ndarray:
    """Cut leading and trailing silence (10 ms frames more than floor_db below the loudest)."""
    n = len(x) // 160 * 160
    if n == 0:
        return x
    power = np.mean(x[:n].reshape(-1, 160) ** 2, axis=1)
    loud = np.flatnonzero(power > power.max() * 10 ** (-floor_db / 10))
    return x[loud[0] * 160 : (loud[-1] + 1) * 160] if len(loud) else x[:0]


def speak_all(utts: list[Utterance], tick: Callable[[], None] = lambda: None, workers: int = 2, seed: int = 0) -> list[np.ndarray]:
    """Synthesize many utterances, `workers` processes at a time beside the neural voice; `tick` after each.

    The neural voice's own noise starts from `seed` on every call: the plan, not this, is what a training's seed varies.
    """
    out: list[np.ndarray] = [np.zeros(0, np.float32)] * len(utts)
    neural = [i for i, u in enumerate(utts) if u.engine == "neural"]

    def one(i: int) -> None:
        out[i] = speak(utts[i])
        tick()

    if neural:
        neural_voice.load(seed)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            others = [pool.submit(one, i) for i, u in enumerate(utts) if u.engine != "neural"]
            try:
                for i in neural:
                    one(i)  # here, in plan order: the voice's random draws then repeat from run to run
                for f in others:
                    f.result()
            except BaseException:
                pool.shutdown(cancel_futures=True)  # an error or Ctrl-C does not wait for the queue
                raise
        return out
    finally:
        neural_voice.release()
