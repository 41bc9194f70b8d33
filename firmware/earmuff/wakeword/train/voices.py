"""The training voices: one family per synthesizer, the voices each has installed here, and how to call it."""

from __future__ import annotations

import functools
import io
import os
import random
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from earmuff.audio.files import resample
from earmuff.config import SAMPLE_RATE, VOICE_FAMILIES
from earmuff.wakeword.train import kokoro_voice, neural_voice

# Every family, in the order a plan lays them out. espeak-ng weighs double: it alone speaks every language and
# has the widest range of voices (2 : 1 : 1 is the recipe before more families came: half espeak-ng, a quarter each).
FAMILIES = VOICE_FAMILIES
WEIGHT = {"espeak-ng": 2.0}
NEURAL = ("piper", "kokoro")  # run one call at a time in plan order: their random draws then repeat
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
FESTIVAL_VOICES = {"kal_diphone": 105, "ked_diphone": 105, "cmu_us_slt_arctic_hts": 0}  # LR intonation mean F0; 0: none
RHVOICE_VOICES = ("alan", "bdl", "clb", "slt")  # LGPL; rhvoice-english's evgeniy-eng and lyubov are non-commercial
PICO_LANGUAGES = {"en-us": "en-US", "en-gb": "en-GB", "de": "de-DE", "es": "es-ES", "fr": "fr-FR", "it": "it-IT"}
ODD_VARIANTS = ("demonic", "unirobot", "robosoft", "whisper", "tweaky", "croak", "anikarobot", "klatt", "fast")
ENGLISH_ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
MBROLA_DIR = Path("/usr/share/mbrola")
# Lisp cells for festival: its default (10 million) makes every call resident at 330 MB, this one at 50 MB with the
# same audio (docs/benchmarks.md, "Training within a Zero 2 W's memory").
FESTIVAL_HEAP = ["--heap", "1000000"]


@dataclass(frozen=True)
class Utterance:
    """One clip to synthesize: family, voice, rate, pitch and vocal tract (a shift of pitch and formants)."""

    text: str
    engine: str  # a family of FAMILIES
    voice: str  # espeak 'lang+variant' or mbrola 'mb-xx', flite/festival/rhvoice name, pico language, 'joe', kokoro speaker
    rate: float  # espeak words per minute, or the family's duration stretch / rate factor
    pitch: int = 50  # espeak 0-99, rhvoice and pico percent, festival mean F0 in Hz, piper variation in hundredths
    tract_cents: int = 0  # pitch and formants together, duration kept (sox `pitch`): a longer or shorter vocal tract


def english(lang: str) -> bool:
    """True for English ('en', 'en-us', 'en-gb-scotland', ...)."""
    return lang.split("-")[0] == "en"


@functools.cache
def _espeak_voices(kind: str) -> tuple[tuple[str, str], ...]:
    """(language, file name) of each espeak-ng voice of a kind ('variant', 'mb')."""
    out = subprocess.run(["espeak-ng", f"--voices={kind}"], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in out.splitlines()[1:]]
    return tuple((r[1], r[4].split("/")[-1]) for r in rows if len(r) > 4)


def espeak_variants() -> list[str]:
    """espeak-ng voice variants that sound like people (robotic and whispering ones left out)."""
    return [n for _, n in _espeak_voices("variant") if not any(n.lower().startswith(o) for o in ODD_VARIANTS)]


def accents(lang: str, known: tuple[str, ...]) -> list[str]:
    """espeak-ng languages to speak `lang` in: every English accent for English, else the language itself."""
    if english(lang):
        return [a for a in ENGLISH_ACCENTS if a in set(known)] or [lang]
    return [lang]


def _mbrola(lang: str) -> list[str]:
    """espeak-ng's MBROLA voices that speak `lang` (English: also German, French, ... speakers of English) and are installed."""
    base = lang.split("-")[0]
    out = []
    for language, name in _espeak_voices("mb"):
        database = name.split("-")[1]  # mb-de4-en speaks with the database de4
        if language.split("-")[0] == base and (MBROLA_DIR / database / database).exists():
            out.append(name)
    return out


def missing(family: str) -> str | None:
    """Why a family cannot speak here (its program or package is not installed), or None."""
    programs = {
        "espeak-ng": ["espeak-ng"],
        "flite": ["flite"],
        "festival": ["festival", "text2wave", "sox"],
        "rhvoice": ["RHVoice-test", "sox"],
        "pico": ["pico2wave", "sox"],
        "mbrola": ["mbrola", "espeak-ng", "sox"],
    }
    absent = [p for p in programs.get(family, []) if shutil.which(p) is None]
    if absent:
        return f"{absent[0]} is not installed"
    if family == "piper":
        return neural_voice.missing()
    if family == "kokoro":
        return kokoro_voice.available()
    if family == "mbrola" and not _mbrola("en"):
        return f"no MBROLA voice database under {MBROLA_DIR}"
    return None


def voices(family: str, lang: str, known: tuple[str, ...]) -> list[str]:
    """The voices of `family` that speak `lang` on this machine ([] if none, or the family is missing)."""
    if missing(family) or (family not in ("espeak-ng", "mbrola", "pico") and not english(lang)):
        return []
    if family == "espeak-ng":
        return accents(lang, known)
    if family == "flite":
        return list(FLITE_VOICES)
    if family == "piper":
        return [neural_voice.VOICE]
    if family == "festival":
        return list(FESTIVAL_VOICES)
    if family == "rhvoice":
        return list(RHVOICE_VOICES)
    if family == "pico":
        code = PICO_LANGUAGES.get(lang) or PICO_LANGUAGES.get(lang.split("-")[0])
        return [c for c in (("en-US", "en-GB") if english(lang) else (code,)) if c]
    if family == "mbrola":
        return _mbrola(lang)
    return [str(k) for k in range(kokoro_voice.SPEAKERS)]


def draw(family: str, text: str, voice: str, rng: random.Random, variants: list[str]) -> Utterance:
    """One utterance of `text` by `voice` of `family`, with the family's own rate, pitch and vocal tract drawn."""
    tract = rng.randint(-250, 250)  # about -13 % to +15 %: other speakers' vocal tracts and pitch
    if family == "espeak-ng":
        voice = f"{voice}+{rng.choice(variants)}" if variants and rng.random() < 0.85 else voice
        return Utterance(text, family, voice, rng.uniform(110, 230), rng.randint(15, 85))
    if family == "flite":
        return Utterance(text, family, voice, rng.uniform(0.75, 1.4))
    if family == "piper":
        return Utterance(text, family, voice, rng.uniform(0.75, 1.35), rng.randint(30, 100))
    if family == "festival":
        f0 = FESTIVAL_VOICES[voice]
        return Utterance(
            text, family, voice, rng.uniform(0.8, 1.35), int(f0 * rng.uniform(0.8, 1.4)) if f0 else 0, tract
        )
    if family == "rhvoice":
        return Utterance(text, family, voice, rng.uniform(0.7, 1.4), rng.randint(70, 130), tract)
    if family == "pico":
        return Utterance(text, family, voice, rng.uniform(0.7, 1.3), rng.randint(80, 125), tract)
    if family == "mbrola":
        return Utterance(text, family, voice, rng.uniform(110, 210), rng.randint(25, 75), tract)
    return Utterance(text, family, voice, rng.uniform(0.8, 1.25))


def _run(cmd: list[str], stdin: str | bytes | None = None) -> bytes:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run(cmd, input=data, capture_output=True, check=True, timeout=60).stdout


def _via_file(cmd: list[str], text_in: str | None = None) -> bytes:
    """Run a synthesizer that writes the WAV file named by "{out}" in its arguments; return its bytes."""
    fd, path = tempfile.mkstemp(suffix=".wav")
    os.close(fd)
    try:
        _run([a.replace("{out}", path) for a in cmd], text_in)
        return Path(path).read_bytes()
    finally:
        os.unlink(path)


def _festival(u: Utterance) -> bytes:
    setup = f"(voice_{u.voice}) (Parameter.set 'Duration_Stretch {u.rate:.2f})"
    if u.pitch:
        setup += f" (set! int_lr_params (cons (list 'target_f0_mean {u.pitch}) (cdr int_lr_params)))"
    # text2wave's own arguments, set in batch mode: its #! line would start festival with the default heap.
    argv = f'(set! argv (list "-eval" "(begin {setup})" "-o" "{{out}}"))'
    return _via_file(
        ["festival", *FESTIVAL_HEAP, "-b", argv, shutil.which("text2wave") or "/usr/bin/text2wave"], u.text
    )


def render(u: Utterance) -> np.ndarray:
    """Synthesize one utterance to 16 kHz mono float32 (not trimmed)."""
    if u.engine == "piper":
        return neural_voice.speak(u.text, u.rate, u.pitch / 100)
    if u.engine == "kokoro":
        return kokoro_voice.speak(u.text, u.rate, int(u.voice))
    if u.engine in ("espeak-ng", "mbrola"):
        wav = _run(["espeak-ng", "--stdout", "-v", u.voice, "-s", str(int(u.rate)), "-p", str(u.pitch), u.text])
    elif u.engine == "flite":
        wav = _via_file(
            ["flite", "-voice", u.voice, "--setf", f"duration_stretch={u.rate:.2f}", "-t", u.text, "-o", "{out}"]
        )
    elif u.engine == "festival":
        wav = _festival(u)
    elif u.engine == "rhvoice":
        wav = _via_file(
            ["RHVoice-test", "-p", u.voice, "-r", str(int(100 / u.rate)), "-t", str(u.pitch), "-o", "{out}"], u.text
        )
    elif u.engine == "pico":
        text = re.sub(r"[<>&]", " ", u.text)  # its input is markup
        markup = f"<speed level='{int(100 / u.rate)}'><pitch level='{u.pitch}'>{text}</pitch></speed>"
        wav = _via_file(["pico2wave", "-l", u.voice, "-w", "{out}", markup])
    else:
        raise ValueError(f"voice family '{u.engine}': unknown; expected one of {list(FAMILIES)}")
    if u.tract_cents:
        wav = _run(
            ["sox", "-R", "-t", "wav", "-", "-t", "wav", "-", "pitch", str(u.tract_cents)], wav
        )  # -R: repeatable dither
    x, rate = sf.read(io.BytesIO(wav), dtype="float32", always_2d=True)
    return resample(x[:, 0], rate, SAMPLE_RATE)
