"""Training data: synthesis plans and voices, augmentation levels, the jamming residual, placement."""

import dataclasses
import json
import random
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest
import soundfile as sf

from earmuff import config
from earmuff.audio.files import resample
from earmuff.audio.room import active_rms
from earmuff.wakeword.train import augment, neural_voice, phrase, pronounce, synth, voices

pytestmark = pytest.mark.training

WORDS = ["computer", "jarvis", "window", "kitchen", "garden"]


def families(lang="en-us", enabled=voices.FAMILIES, exclude=frozenset()):
    return synth.families(lang, enabled, phrase.languages(), exclude)


def hear(words):
    """A pocketsphinx (trained on people) that picks one of `words` for a clip."""
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=16000, loglevel="FATAL")
    decoder.add_jsgf_string("words", f"#JSGF V1.0; grammar words; public <w> = {' | '.join(words)};")
    decoder.activate_search("words")

    def one(x):
        pcm = np.r_[np.zeros(3200), 0.5 * x / abs(x).max(), np.zeros(3200)]
        decoder.start_utt()
        decoder.process_raw((pcm * 32767).astype(np.int16).tobytes(), full_utt=True)
        decoder.end_utt()
        return decoder.hyp().hypstr if decoder.hyp() else ""

    return one


def test_plans_vary_voices_and_keep_held_out_ones_out():
    rnd = random.Random(0)
    fams = families(exclude=frozenset({"slt", "en-gb"}))
    utts = synth.plan("hey bramble", "en-us", 400, rnd, fams, frozenset({"slt", "en-gb"}))
    assert {u.engine for u in utts} == set(fams)
    assert all(u.voice != "slt" and not u.voice.startswith("en-gb+") and u.voice != "en-gb" for u in utts)
    assert len({u.voice for u in utts}) > 50 and len({int(u.rate) for u in utts if u.engine == "espeak-ng"}) > 50
    # Negatives are planned one at a time: they must get every family as well as the positives do.
    singles = [synth.plan(f"word {i}", "en-us", 1, rnd, fams)[0] for i in range(400)]
    share = sum(voices.WEIGHT.get(f, 1.0) for f in fams)
    for family in fams:
        expected = 400 * voices.WEIGHT.get(family, 1.0) / share
        assert 0.5 * expected < sum(u.engine == family for u in singles) < 1.5 * expected, family
    french = synth.plan("bonjour maison", "fr", 40, rnd, families("fr"))
    assert {u.engine for u in french} == {"espeak-ng", "pico", "mbrola"}  # the families that speak French
    assert all(u.voice.split("+")[0] in ("fr", "fr-FR", "mb-fr1", "mb-fr4") for u in french)
    without = synth.plan("hey bramble", "en-us", 100, rnd, families(exclude=frozenset({"joe"})))
    assert "piper" not in {u.engine for u in without}


def test_families_left_out_are_named_and_the_config_switches_them_off():
    said = []
    fams = synth.families("en-us", ("espeak-ng", "flite"), phrase.languages(), say=said.append)
    assert set(fams) == {"espeak-ng", "flite"} and said == []
    assert voices.missing("festival") is None  # installed by scripts/setup.sh: a missing one fails here
    assert "kal_diphone" in fams_of("festival")
    assert config.build(config.WakeWordTrainingConfig, {"voices": ["flite"]}, "wakeword").voices == ("flite",)
    try:
        config.build(config.WakeWordTrainingConfig, {"voices": ["flite", "robot"]}, "wakeword")
    except config.ConfigError as exc:
        assert "wakeword.voices" in str(exc) and "'robot' is unknown" in str(exc)
    else:
        raise AssertionError("an unknown voice family was accepted")


def test_a_missing_or_broken_family_is_left_out_and_named(monkeypatch, capsys):
    """festival's program gone (package removed), then its voice failing as it speaks (package broken)."""
    real_which, real_render = voices.shutil.which, voices.render
    monkeypatch.setattr(voices.shutil, "which", lambda p: None if p == "text2wave" else real_which(p))
    said = []
    fams = synth.families("en-us", ("espeak-ng", "festival"), phrase.languages(), say=said.append)
    assert set(fams) == {"espeak-ng"} and said == [
        "voice family festival: left out of training (text2wave is not installed)"
    ]
    monkeypatch.setattr(voices.shutil, "which", real_which)

    def broken(u):
        if u.engine == "festival":
            raise subprocess.CalledProcessError(1, ["text2wave"], stderr=b"SIOD ERROR: could not open voice")
        return real_render(u)

    monkeypatch.setattr(voices, "render", broken)
    utts = synth.plan("hey bramble", "en-us", 12, random.Random(2), families(enabled=("espeak-ng", "festival")))
    assert {u.engine for u in utts} == {"espeak-ng", "festival"}
    clips = synth.speak_all(utts)
    assert all(len(c) == 0 for c, u in zip(clips, utts) if u.engine == "festival")
    assert all(len(c) > 1600 for c, u in zip(clips, utts) if u.engine == "espeak-ng")
    assert "voice family festival: some sayings failed and were left out (CalledProcessError" in capsys.readouterr().err


def test_festival_on_a_small_heap_says_what_text2wave_says(tmp_path):
    """Festival runs with a tenth of its default Lisp heap (330 MB resident otherwise): the audio is the same."""
    u = voices.draw("festival", "hey bramble, said the competitor", "cmu_us_slt_arctic_hts", random.Random(3), [])
    u = dataclasses.replace(u, tract_cents=0)
    setup = f"(begin (voice_{u.voice}) (Parameter.set 'Duration_Stretch {u.rate:.2f}))"
    subprocess.run(["text2wave", "-eval", setup, "-o", str(tmp_path / "t.wav")], input=u.text.encode(), check=True)
    x, rate = sf.read(tmp_path / "t.wav", dtype="float32")
    ours = voices.render(u)
    assert len(ours) > 8000 and np.array_equal(ours, resample(x, rate, 16000))


def test_families_that_misread_a_name_are_left_out_for_it():
    said = []
    fams = ["espeak-ng", "flite", "festival", "rhvoice"]
    for name in ("hey bramble", "computer", "okay marigold", "hello juniper", "hey xiomara"):
        assert pronounce.mispronouncing(name, "en-us", fams, said.append) == set(), said
    # flite and festival read "saoirse" as "s-uh-wers"; espeak-ng as "seer-sha".
    assert pronounce.mispronouncing("hey saoirse", "en-us", fams, said.append) == {"flite", "festival"}
    assert said[0].startswith("voice family flite: reads 'hey saoirse' as 'hVsVwVɹs', espeak-ng as 'hVsVʃV'")
    assert pronounce.mispronouncing("bonjour maison", "fr", fams) == set()  # only English front ends are asked


def fams_of(family):
    return families(enabled=(family,)).get(family, [])


@pytest.mark.parametrize("family", ["flite", "festival", "rhvoice", "pico", "mbrola"])
def test_each_voice_family_says_the_words_asked_for(family):
    """Each family's voices say each word (with its own rate, pitch and vocal tract drawn) so that pocketsphinx,
    trained on people, picks the right one of five. (espeak-ng's formant voices: about half; not asked here.)"""
    rng = random.Random(1)
    found = fams_of(family)
    assert found, (
        f"voice family {family}: {voices.missing(family) or 'no voice speaks en-us'} (scripts/setup.sh installs it)"
    )
    heard, asked = [], []
    listen = hear(WORDS)
    for voice in found[:6]:
        for word in WORDS:
            u = voices.draw(family, word, voice, rng, [])
            x = synth.speak(u)
            assert x.dtype == np.float32 and 0.2 < len(x) / 16000 < 2.0, (u, len(x))
            heard.append(listen(x))
            asked.append(word)
    right = sum(h == a for h, a in zip(heard, asked))
    assert right >= 0.8 * len(asked), list(zip(asked, heard))
    assert np.array_equal(synth.speak(u), x)  # the same saying again, to the sample: trainings repeat


def test_speech_comes_out_at_16k_trimmed():
    x = synth.speak(synth.Utterance("hey bramble", "flite", "kal", 1.0))
    y = synth.speak(synth.Utterance("hey bramble", "espeak-ng", "en-us+f3", 120))
    for clip in (x, y):
        assert clip.dtype == np.float32 and 0.4 < len(clip) / 16000 < 1.6
        assert abs(clip[:160]).max() > 0.001  # no leading silence left


def test_neural_voice_input_is_start_symbols_with_pads_and_end():
    id_map = json.loads((resources.files(neural_voice.PACKAGE) / "data" / f"{neural_voice.MODEL}.json").read_text())[
        "phoneme_id_map"
    ]
    ipa = "kəmpjˈuːɾɚ"  # espeak-ng --ipa for "computer"
    ids = neural_voice.phoneme_ids(ipa, id_map)
    assert ids == id_map["^"] + id_map["_"] + [k for c in ipa for k in id_map[c] + id_map["_"]] + id_map["$"]
    # A language switch ("(fr)" around a French word) is a mark, not sounds, though "(", "f" and "r" have ids.
    assert neural_voice.phoneme_ids("(fr)" + ipa + "(en)", id_map) == ids


def test_neural_voice_repeats_its_audio_for_a_seed():
    utts = [synth.Utterance(w, "piper", "joe", 1.0, 80) for w in ("computer", "kitchen", "garden")]
    first = synth.speak_all(utts, seed=4)
    synth.speak(utts[0])  # a stray call in between must not move the next run's random draws
    again, other = synth.speak_all(utts, seed=4), synth.speak_all(utts, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(len(a) == len(b) and np.array_equal(a, b) for a, b in zip(first, other))


LOAD_THEN_TRIM = """
import ctypes
from earmuff.wakeword.train import heap, neural_voice


def resident_kb():
    with open("/proc/self/smaps_rollup") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Rss:"))


heap.map_large_arrays()  # as in a training
neural_voice.load(0)
before = resident_kb()
ctypes.CDLL("libc.so.6").malloc_trim(0)
print(before - resident_kb())
"""


def test_loading_the_neural_voice_hands_back_what_it_freed():
    """What loading Piper freed goes back to the system at once (glibc would keep about 30 MB of it, unused,
    through the synthesis): a trim afterwards finds little left to hand back. In a fresh process, where nothing
    else has freed memory."""
    out = subprocess.run([sys.executable, "-c", LOAD_THEN_TRIM], capture_output=True, text=True, check=True)
    assert int(out.stdout) < 8000, f"a trim after loading still handed back {out.stdout.strip()} kB"


def test_neural_voice_says_the_words_asked_for():
    """pocketsphinx (trained on people) recognises each word the voice says, at both ends of its speed range."""
    from pocketsphinx import Decoder

    words = ["computer", "jarvis", "window", "kitchen", "garden"]
    decoder = Decoder(samprate=16000, loglevel="FATAL")
    decoder.add_jsgf_string("words", f"#JSGF V1.0; grammar words; public <w> = {' | '.join(words)};")
    decoder.activate_search("words")
    heard, durations = [], {}
    for word in words:
        for stretch in (0.75, 1.35):
            x = synth.speak(synth.Utterance(word, "piper", "joe", stretch, 60))
            assert x.dtype == np.float32 and abs(x[:160]).max() > 0.001
            durations[word, stretch] = len(x) / 16000
            pcm = np.r_[np.zeros(3200), 0.5 * x / abs(x).max(), np.zeros(3200)]
            decoder.start_utt()
            decoder.process_raw((pcm * 32767).astype(np.int16).tobytes(), full_utt=True)
            decoder.end_utt()
            heard.append(decoder.hyp().hypstr if decoder.hyp() else "")
    assert heard == [w for w in words for _ in range(2)]
    assert all(durations[w, 1.35] > 1.2 * durations[w, 0.75] for w in words)


def test_jamming_residual_is_what_the_canceller_leaves(paths):
    r = augment.jamming_residual(config.load(paths.config), 8.0, seed=1)
    level = 10 * np.log10(np.mean(r**2))
    cfg = config.load(paths.config)
    noise_at_mic = cfg.noise.level_dbfs + (85.0 - 120.0)  # device_mic_coupling 85 dB SPL, 0 dBFS = 120
    # The device's path (drift undone) leaves about 30 dB less than the noise at the mic; without the drift
    # corrector the canceller left 16 dB less, and that louder residual was what training and the benchmark heard.
    assert -90 < level < noise_at_mic - 22, level


def test_augmented_windows_have_the_word_where_asked_and_at_room_levels(paths):
    rng = np.random.default_rng(0)
    word = ((np.sin(np.arange(8000) / 5) + 1.5) * 0.2).astype(np.float32)
    placed = augment.place(word, 34560, 30000)
    assert np.count_nonzero(placed[:22000]) == 0 and np.count_nonzero(placed[22000:30000]) == 8000
    residual = augment.jamming_residual(config.load(paths.config), 4.0)
    levels = [20 * np.log10(active_rms(augment.augment(word, 34560, 30000, rng, residual))) for _ in range(40)]
    assert min(levels) < -60 and max(levels) > -45  # quiet far talkers and near ones
    s = augment.stream([word, word], rng, residual, pause_s=(1.0, 1.0))
    assert len(s) >= 2 * 8000 + 2 * 16000


def test_colored_noise_has_the_asked_length_even_for_prime_lengths():
    rng = np.random.default_rng(0)
    for n in (16000, 607349):  # 607349 is prime: its FFT runs at a longer, fast length and is cut
        assert len(augment.colored_noise(n, rng)) == n


def test_hardest_negatives_come_from_streams_and_room_bank_in_score_order():
    from earmuff.wakeword.train import classifier, features
    from earmuff.wakeword.train.windows import hardest

    dim = features.WINDOW * features.EMBED_DIM
    # A "model" whose logit is the sum of the window's first feature over its 16 frames, minus 4.
    w1 = np.zeros((dim, 1), np.float32)
    w1[:: features.EMBED_DIM] = 1.0
    model = classifier.Mlp(w1, np.zeros(1, np.float32), np.ones((1, 1), np.float32), np.full(1, -4.0, np.float32))
    frames = [np.zeros((40, features.EMBED_DIM), np.float32) for _ in range(2)]
    frames[1][:, 0] = np.arange(40) * 0.01  # in stream 1, the later a window starts the higher it scores
    bank = np.zeros((5, features.WINDOW, features.EMBED_DIM), np.float16)
    bank[3, :, 0] = 0.5  # the strongest of all
    hard = hardest(model, frames, [bank[:2], bank[2:]], 3)
    assert hard.shape == (3, features.WINDOW, features.EMBED_DIM) and hard.dtype == np.float16  # as the fit holds them
    np.testing.assert_array_equal(hard[0], frames[1][23:39].astype(np.float16))  # lowest first, as scored
    np.testing.assert_array_equal(hard[1], frames[1][24:40].astype(np.float16))
    np.testing.assert_array_equal(hard[2], bank[3])
    assert len(hardest(model, frames[:1], [], 3)) == 0  # nothing scores above 0.05: no hard negatives
