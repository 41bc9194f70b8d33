"""Checking a typed wake phrase and its language, and its phonemes and sound-alikes via espeak-ng."""

from __future__ import annotations

import functools
import re
import subprocess
import unicodedata

from earmuff.wake_name import WakeWordError, normalise

MAX_CHARS = 40
MAX_WORDS = 5
_VOWELS = set("aeiouyàâäéèêëîïôöùûüÿœæåøáíóúãõıəаеёиоуыэюяαεηιουω")
# Scripts that write every vowel: a word in them without one cannot be said. Others (Devanagari, Arabic,
# Han, ...) leave vowels implicit or have none to check.
_ALPHABETS = ("LATIN", "CYRILLIC", "GREEK")


class PhraseError(WakeWordError):
    """A wake phrase or language that cannot be trained."""


def folder_name(phrase: str) -> str:
    """The folder a phrase is stored under: 'hey bramble' -> 'hey_bramble'."""
    return normalise(phrase).replace(" ", "_")


@functools.lru_cache(maxsize=1)
def languages() -> tuple[str, ...]:
    """Language codes espeak-ng has voices for, from `espeak-ng --voices`."""
    out = subprocess.run(["espeak-ng", "--voices"], capture_output=True, text=True, check=True).stdout
    codes = {line.split()[1] for line in out.splitlines()[1:] if len(line.split()) > 1}
    codes |= {c.split("-")[0] for c in codes}  # espeak-ng takes the bare language too ("fr" is fr-fr)
    codes |= set(re.findall(r"\((\S+) \d+\)", out))
    return tuple(sorted(codes))


def check_language(lang: str) -> str:
    """Return `lang` if espeak-ng can speak it, else raise PhraseError naming it."""
    codes = languages()
    if lang not in codes:
        close = [c for c in codes if c.split("-")[0] == lang.split("-")[0]]
        hint = f" (close: {close})" if close else ""
        raise PhraseError(f"language '{lang}': espeak-ng has no such voice{hint}; expected one of `espeak-ng --voices`")
    return lang


def check_phrase(phrase: str) -> str:
    """Return the normalised phrase, or raise PhraseError saying what is wrong with it."""
    name = normalise(phrase)
    if not name:
        raise PhraseError(f"wake phrase {phrase!r}: is empty; expected one to {MAX_WORDS} words, e.g. 'hey bramble'")
    if len(name) > MAX_CHARS or len(name.split()) > MAX_WORDS:
        raise PhraseError(
            f"wake phrase {phrase!r}: too long ({len(name)} characters, {len(name.split())} words); "
            f"expected at most {MAX_CHARS} characters and {MAX_WORDS} words"
        )
    bad = [c for c in name if not (unicodedata.category(c)[0] in "LM" or c in " '-")]  # M: vowel signs, accents
    if bad:
        raise PhraseError(f"wake phrase {phrase!r}: cannot be pronounced ('{bad[0]}'); expected letters only")
    words = [w for w in re.split(r"[ \-]", name) if w]
    for word in words:
        if not any(unicodedata.category(c)[0] == "L" for c in word):
            raise PhraseError(f"wake phrase {phrase!r}: '{word}' has no letter; expected words of letters")
    alphabetic = [w for w in words if _script(w) in _ALPHABETS]
    for word in alphabetic:
        if not _VOWELS.intersection(word):
            raise PhraseError(f"wake phrase {phrase!r}: '{word}' has no vowel and cannot be pronounced as a word")
    letters = len(name.replace(" ", ""))
    if letters < 2 or (letters < 3 and alphabetic):
        raise PhraseError(f"wake phrase {phrase!r}: too short; expected at least 3 letters (2-4 syllables work best)")
    return name


def _script(word: str) -> str:
    """The script of a word's first letter, as Unicode names it: 'LATIN', 'DEVANAGARI', 'CJK', ..."""
    return unicodedata.name(next(c for c in word if unicodedata.category(c)[0] == "L"), "?").split()[0]  # has one


def phonemes(phrase: str, lang: str) -> str:
    """espeak-ng's phoneme mnemonics for the phrase (the input form of [[...]])."""
    out = subprocess.run(["espeak-ng", "-q", "-x", "-v", lang, phrase], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


# Consonants and vowels that are easily confused: one swap gives a near miss that is clearly another word.
_SWAPS = {
    "p": "b",
    "b": "p",
    "k": "g",
    "g": "k",
    "m": "n",
    "n": "m",
    "f": "v",
    "v": "f",
    "s": "z",
    "z": "s",
    "l": "r",
    "r": "l",
    "w": "v",
    "a": "E",
    "E": "a",
    "i:": "I",
    "I": "i:",
    "u:": "O:",
    "0": "V",
    "V": "0",
    "O:": "0",
    "eI": "aI",
    "aI": "eI",
}
_TOKEN = re.compile(r"i:|u:|O:|eI|aI|[a-zA-Z@0-9]")


def sound_alikes(phrase: str, lang: str, limit: int = 12) -> list[str]:
    """Near misses to learn as 'not the name': leading words alone, and swaps at stressed syllables in [[...]] form."""
    words = normalise(phrase).split()
    texts = list(dict.fromkeys(words[:-1]))  # "hey" alone is not "hey bramble"; the name alone may well be meant
    ph = phonemes(phrase, lang)
    variants = []
    for m in _TOKEN.finditer(ph):
        near_stress = "'" in ph[max(0, m.start() - 3) : m.start()] or ph[m.end() : m.end() + 1] == "'"
        swap = _SWAPS.get(m.group())
        # Only where the word is stressed: an unstressed t/d or m/n swap is how people say it anyway.
        if swap is not None and near_stress:
            variants.append(ph[: m.start()] + swap + ph[m.end() :])
    if len(ph) > 6:
        cut = ph.rfind("'") if ph.rfind("'") > 2 else len(ph) // 2
        variants.append(ph[:cut].rstrip("' "))  # the name's beginning only
    step = max(1, len(variants) // max(1, limit - len(texts)))
    texts += [f"[[{v}]]" for v in variants[::step] if v]
    return texts[:limit]
