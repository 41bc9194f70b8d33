"""Typed wake phrases: clear refusals, languages from espeak-ng, sound-alikes espeak-ng can say."""

import pytest

from earmuff.wake_name import WakeWordError
from earmuff.wakeword.train.phrase import PhraseError, check_language, check_phrase, folder_name, phonemes, sound_alikes
from earmuff.wakeword.train.synth import Utterance, speak

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "phrase, words",
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("hey " * 12, "too long"),
        ("hey&bramble", "cannot be pronounced ('&')"),
        ("hey 42", "cannot be pronounced ('4')"),
        ("xzq bramble", "'xzq' has no vowel"),
        ("ok", "too short"),
        ("hey ' bob", "''' has no letter"),
        ("hey \u0301 bob", "has no letter"),
    ],
)
def test_bad_phrases_are_refused_with_the_reason(phrase, words):
    with pytest.raises(PhraseError) as err:
        check_phrase(phrase)
    assert words in str(err.value) and repr(phrase) in str(err.value)
    assert isinstance(err.value, WakeWordError)  # the CLI turns it into one line and exit code 2


def test_phrases_are_known_in_lower_case():
    assert check_phrase("  Hey   BRAMBLE ") == "hey bramble"
    assert folder_name("Hey Bramble") == "hey_bramble"
    assert check_phrase("Bonjour Maison") == "bonjour maison"
    assert check_phrase("e\u0301te\u0301 chaud") == "été chaud"  # typed with combining accents: the same name


@pytest.mark.parametrize(
    "phrase, lang", [("नमस्ते घर", "hi"), ("مرحبا بيت", "ar"), ("你好", "cmn"), ("привет дом", "ru")]
)
def test_scripts_other_than_latin_are_accepted_and_spoken(phrase, lang):
    assert check_phrase(phrase) == phrase and check_language(lang) == lang
    assert len(phonemes(phrase, lang)) > 3  # espeak-ng speaks it


def test_languages_come_from_espeak():
    assert check_language("fr") == "fr"
    with pytest.raises(PhraseError, match="language 'xx-yy': espeak-ng has no such voice"):
        check_language("xx-yy")


def test_sound_alikes_are_near_misses_espeak_can_say():
    alikes = sound_alikes("hey bramble", "en-us")
    assert "hey" in alikes and "hey bramble" not in alikes
    own = phonemes("hey bramble", "en-us")
    swaps = [a for a in alikes if a.startswith("[[")]
    assert len(swaps) >= 4
    for text in swaps[:4]:
        inner = text[2:-2]
        assert inner != own and len(inner) == len(own) or abs(len(inner) - len(own)) <= 2
        audio = speak(Utterance(text, "espeak-ng", "en-us", 160))
        assert 0.3 < len(audio) / 16000 < 2.0  # a word, not spelled-out brackets
