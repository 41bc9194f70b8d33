"""Leaving out the voice families that mispronounce a wake phrase.

flite and festival read the phrase through their own dictionary and letter-to-sound rules, so a rare name can
come out as another word; espeak-ng (and the voices it drives: MBROLA, the neural voices) says espeak-ng's own
phonemes, the reference. Both tell their phones, so the two are compared as consonant skeletons (each run of
vowels one 'V': accents differ in vowels, a misread name differs in consonants). RHVoice and Pico tell no
phones and are not checked. An acoustic check (embedding distances to the reference and to near misses) was
tried first and could not tell "computer" from "commuter" (docs/benchmarks.md), so it is not used.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

from earmuff.wakeword.train.advice import distance, ipa
from earmuff.wakeword.train.voices import FESTIVAL_HEAP, english

_ARPABET = {
    "b": "b",
    "ch": "tʃ",
    "d": "d",
    "dh": "ð",
    "dx": "t",
    "f": "f",
    "g": "ɡ",
    "hh": "h",
    "jh": "dʒ",
    "k": "k",
    "l": "l",
    "m": "m",
    "n": "n",
    "ng": "ŋ",
    "p": "p",
    "r": "ɹ",
    "s": "s",
    "sh": "ʃ",
    "t": "t",
    "th": "θ",
    "v": "v",
    "w": "w",
    "y": "j",
    "z": "z",
    "zh": "ʒ",
    "pau": "",
}
_IPA_VOWELS = re.compile("[aeiouyæɑɒɔəɘɛɜɞɪʊʌɐɤɯɵøœɶʉɨᵻ]+")
# r-coloured vowels are a vowel and an r in both notations; a flap is how US English says t.
_IPA_SAME = str.maketrans(
    {"ɾ": "t", "ɫ": "l", "r": "ɹ", "g": "ɡ", "ɚ": "əɹ", "ɝ": "ɜɹ", "ʔ": None, "\u0329": None, "\u0303": None}
)
_DOUBLE = re.compile(r"(\D)\1+")
_FESTIVAL = (
    '(set! u (utt.synth (Utterance Text "{text}"))) '
    '(mapcar (lambda (s) (format t "%s " (item.name s))) (utt.relation.items u \'Segment))'
)


def skeleton_of_ipa(text: str) -> str:
    """espeak-ng IPA as consonants with 'V' for each run of vowels."""
    return _DOUBLE.sub(r"\1", _IPA_VOWELS.sub("V", text.translate(_IPA_SAME)))


def skeleton_of_phones(phones: list[str]) -> str:
    """flite/festival (CMU ARPAbet) phones as the same skeleton."""
    mapped = "".join(_ARPABET.get(p, "Vɹ" if p in ("er", "axr") else "V") for p in phones)
    return _DOUBLE.sub(r"\1", re.sub("V+", "V", mapped))


def phones(family: str, text: str) -> list[str]:
    """The phones a family's front end gives `text` (flite or festival)."""
    if family == "flite":
        out = subprocess.run(
            ["flite", "-ps", "-t", text, "-o", "none"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    else:
        clean = text.replace('"', " ").replace("\\", " ")
        out = subprocess.run(
            ["festival", *FESTIVAL_HEAP, "--pipe"],
            input=_FESTIVAL.format(text=clean),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    return out.split()


def misread(phrase: str, ours: str, theirs: str) -> bool:
    """Two skeletons differ by more than one consonant (or by one in a short name)."""
    d = distance(ours, theirs)
    return d >= 2 or (d == 1 and len(ours) <= 4)


def mispronouncing(phrase: str, lang: str, families: list[str], say: Callable[[str], None] | None = None) -> set[str]:
    """The families among flite and festival whose front end reads `phrase` unlike espeak-ng."""
    if not english(lang):
        return set()
    ours = skeleton_of_ipa(ipa(phrase, lang))
    bad: set[str] = set()
    for family in ("flite", "festival"):
        if family not in families:
            continue
        try:
            theirs = skeleton_of_phones(phones(family, phrase))
        except (OSError, subprocess.SubprocessError):
            continue  # a broken family fails on its own when it speaks, and is named there
        if misread(phrase, ours, theirs):
            bad.add(family)
            if say:
                say(
                    f"voice family {family}: reads '{phrase}' as {theirs!r}, espeak-ng as {ours!r}; left out for this name"
                )
    return bad
