"""Typed wake phrases: clear refusals, languages from espeak-ng, sound-alikes espeak-ng can say."""

import pytest

from earmuff.detector import WakeWordError
from earmuff.wakeword.phrase import PhraseError, check_language, check_phrase, folder_name, phonemes, sound_alikes
from earmuff.wakeword.synth import Utterance, speak


@pytest.mark.parametrize(
    "phrase, words",
    [("", "is empty"), ("   ", "is empty"), ("hey " * 12, "too long"), ("hey&bramble", "cannot be pronounced ('&')"),
     ("hey 42", "cannot be pronounced ('4')"), ("xzq bramble", "'xzq' has no vowel"), ("ok", "too short")],
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
