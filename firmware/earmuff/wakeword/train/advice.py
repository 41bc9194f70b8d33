"""Advice on a wake name before training: too short, an everyday word, or close to the smart speaker's own."""

from __future__ import annotations

import re
import subprocess

from earmuff.wake_name import normalise
from earmuff.wakeword.train.words import WORDS

MIN_SYLLABLES = 3
# The smart speakers' own wake words: a name close to one wakes the speaker through the noise's gaps, or is
# taken for it by the people in the room.
SPEAKER_WORDS = ("alexa", "amazon", "echo", "computer", "ziggy", "hey google", "ok google", "hey siri")
FILLERS = {"hey", "hi", "hello", "ok", "okay", "oh", "yo"}
CLOSE = 0.4  # phoneme edit distance, as a share of the longer name, at or below which a name counts as close
GOOD = (
    "a good wake name has 3-5 syllables, is not said in everyday talk, sounds unlike the smart speaker's own "
    'wake word, and has clear consonants: e.g. "hey bramble", "okay marigold", "hello juniper"'
)
_VOWELS = "aeiouyæɑɒɔəɘɛɜɞɪʊʌɐɤɯɵøœɶʉɨɚɝ"
_VOWEL_RUN = re.compile(f"[{_VOWELS}]+")
_MARKS = re.compile(r"[ˈˌːˑ.\-_\s]|\([a-z-]+\)")


def ipa(text: str, lang: str) -> str:
    """espeak-ng's IPA of `text`, without stress, length marks, spaces or language switches."""
    out = subprocess.run(
        ["espeak-ng", "-q", "--ipa", "-v", lang, text], capture_output=True, text=True, check=True, timeout=30
    )
    return _MARKS.sub("", out.stdout)


def syllables(text: str, lang: str) -> int:
    """Syllables as espeak-ng says `text`: its runs of vowel sounds (a diphthong is one)."""
    return len(_VOWEL_RUN.findall(ipa(text, lang)))


def distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def advise(phrase: str, lang: str) -> list[str]:
    """Warnings about a wake name, each a sentence; [] for a name that looks good."""
    name = normalise(phrase)
    out = []
    n = syllables(name, lang)
    if n < MIN_SYLLABLES:
        out.append(
            f"'{name}' is short ({n} syllable{'s' * (n != 1)}): short names are missed more often "
            f"(docs/benchmarks.md); expected at least {MIN_SYLLABLES}"
        )
    if lang.split("-")[0] == "en":
        common = [w for w in name.split() if w not in FILLERS and w in WORDS]
        if common and len(common) == len([w for w in name.split() if w not in FILLERS]):
            out.append(f"'{' '.join(common)}' is said in everyday talk: people will say it without meaning earmuff")
    core = " ".join(w for w in name.split() if w not in FILLERS) or name
    mine = {ipa(name, lang), ipa(core, lang)}
    for word in SPEAKER_WORDS:
        theirs = ipa(word, "en-us")
        if re.search(rf"\b{word}\b", name):
            out.append(f"'{name}' contains the smart speaker's own wake word '{word}'")
        elif any(distance(m, theirs) <= CLOSE * max(len(m), len(theirs)) for m in mine):
            out.append(
                f"'{name}' sounds close to the smart speaker's wake word '{word}': either may wake for the other"
            )
        else:
            continue
        break
    return out
