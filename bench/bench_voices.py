"""Benchmark: how the training voices sound to recognisers trained on people, and what the Kokoro voice costs.

    nice .venv/bin/python bench/bench_voices.py listen [--families kokoro espeak-ng piper flite] [--count N]
    nice /usr/bin/time -v .venv/bin/python bench/bench_voices.py cost [--count 50]

listen: each family (Kokoro speakers 0..N-1, N espeak-ng accent+variant voices at 160 wpm, Piper joe at N
rate and noise draws, the 5 flite voices) says "computer", "jarvis" and "hey jarvis". pocketsphinx transcribes
the first two with its open en-us language model and with an 8-word grammar of sound-alikes; openWakeWord's
pretrained "hey jarvis" scores the third (best frame, the clip padded with silence). One line per family.
cost: load time and RSS of the Kokoro voice, CPU seconds per saying of "hey bramble" (40 sayings) and of
10 other sayings, RSS after them and after release (peak: /usr/bin/time -v's "Maximum resident set size").

    nice .venv/bin/python bench/bench_voices.py memory --families piper [--count 150] [--as-before]

memory: one neural voice (piper or kokoro) loaded as in a training (glibc's allocator set as the training sets it)
says `count` sayings of the training's kinds (a third the name, the rest single words and sentences, 0.7-1.4x speed);
peak and current resident memory after the load and after the sayings, and CPU. --as-before loads it as before
2026-12-01: onnxruntime's memory pattern on, and (Piper) the heap freed by the load kept.
"""

from __future__ import annotations

import argparse
import random
import resource
import time

import numpy as np

from benchlib import frame_scores
from earmuff.wakeword.train import kokoro_voice, neural_voice, synth, voices
from earmuff.wakeword.train.voices import Utterance

GRAMMAR = ["computer", "compute", "commuter", "jarvis", "garden", "kitchen", "bramble", "window"]


def rss_mb() -> int:
    """This process's resident memory now, MB."""
    return next(int(line.split()[1]) // 1024 for line in open("/proc/self/status") if line.startswith("VmRSS"))


def transcribe(decoder, x: np.ndarray) -> str:
    """pocketsphinx's words for a clip, normalised and padded with 0.2 s of silence."""
    pcm = np.r_[np.zeros(3200), 0.5 * x / (abs(x).max() + 1e-9), np.zeros(3200)]
    decoder.start_utt()
    decoder.process_raw((pcm * 32767).astype(np.int16).tobytes(), full_utt=True)
    decoder.end_utt()
    return decoder.hyp().hypstr if decoder.hyp() else ""


def jarvis_score(x: np.ndarray) -> float:
    """openWakeWord's best "hey jarvis" score for a clip with 0.5 s of silence before and 1 s after."""
    pcm = np.r_[np.zeros(8000), 0.3 * x / (abs(x).max() + 1e-9), np.zeros(16000)].astype(np.float32)
    return float(frame_scores(pcm, "hey jarvis").max())


def speakers(family: str, count: int) -> list:
    """Functions text -> trimmed 16 kHz clip, one per speaker of `family` (kokoro, espeak-ng, piper or flite)."""
    rnd = random.Random(1)
    if family == "kokoro":
        kokoro_voice.load(0)
        return [lambda t, s=s: synth.speak(Utterance(t, family, str(s), 1.0)) for s in range(count)]
    if family == "piper":
        neural_voice.load(0)
        draws = [(rnd.uniform(0.85, 1.2), rnd.randint(30, 100)) for _ in range(count)]
        return [lambda t, d=d: synth.speak(Utterance(t, family, neural_voice.VOICE, *d)) for d in draws]
    if family == "flite":
        return [lambda t, v=v: synth.speak(Utterance(t, family, v, 1.0)) for v in voices.FLITE_VOICES]
    variants = voices.espeak_variants()
    draws = [
        (f"{rnd.choice(voices.ENGLISH_ACCENTS)}+{rnd.choice(variants)}", rnd.randint(25, 75)) for _ in range(count)
    ]
    return [lambda t, d=d: synth.speak(Utterance(t, family, d[0], 160, d[1])) for d in draws]


def listen(families: list[str], count: int) -> None:
    """Print, per family, the words pocketsphinx heard and the "hey jarvis" score distribution."""
    from pocketsphinx import Decoder

    free = Decoder(samprate=16000, loglevel="FATAL")
    closed = Decoder(samprate=16000, loglevel="FATAL")
    closed.add_jsgf_string("w", f"#JSGF V1.0; grammar w; public <w> = {' | '.join(GRAMMAR)};")
    closed.activate_search("w")
    for family in families:
        hits, scores = {"computer": [0, 0], "jarvis": [0, 0]}, []
        says = speakers(family, count)
        for say in says:
            for word in hits:
                x = say(word)
                hits[word][0] += word in transcribe(free, x).split()
                hits[word][1] += transcribe(closed, x) == word
            scores.append(jarvis_score(say("hey jarvis")))
        s = np.array(scores)
        heard = ", ".join(f"{w} {a}/{b}" for w, (a, b) in hits.items())
        spread = f"min {s.min():.3f} q25 {np.quantile(s, 0.25):.3f} median {np.median(s):.3f}"
        print(
            f"{family} ({len(says)} speakers): pocketsphinx open/grammar: {heard}; hey jarvis score {spread}, "
            f"above 0.5: {int((s > 0.5).sum())}",
            flush=True,
        )
        kokoro_voice.release()
        neural_voice.release()


def cost(count: int) -> None:
    """Print the Kokoro voice's load time, CPU per saying and memory."""
    import onnxruntime  # noqa: F401  (in the baseline: synth.speak_all has it loaded anyway)

    print(f"RSS before load: {rss_mb()} MB")
    wall, cpu = time.perf_counter(), time.process_time()
    kokoro_voice.load(0)
    print(f"load: {time.perf_counter() - wall:.2f} s wall, {time.process_time() - cpu:.2f} s CPU; RSS {rss_mb()} MB")
    others = [
        "computer",
        "please turn the kitchen light off",
        "hey jarvis",
        "what time is it",
        "bramble",
        "the garden needs water tomorrow",
        "good morning",
        "window",
        "okay",
        "hey",
    ]
    texts = ["hey bramble"] * (count - len(others)) + others
    spent = []
    for i, text in enumerate(texts):
        cpu = time.process_time()
        kokoro_voice.speak(text, 0.8 + 0.4 * i / len(texts), i)
        spent.append(time.process_time() - cpu)
    n = count - len(others)
    print(
        f"CPU per saying: 'hey bramble' median {np.median(spent[:n]):.3f} s (speeds 0.8-1.2, {n} speakers), "
        f"others mean {np.mean(spent[n:]):.3f} s; RSS {rss_mb()} MB, "
        f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB"
    )
    kokoro_voice.release()
    print(f"RSS after release: {rss_mb()} MB")


def memory(family: str, count: int, as_before: bool) -> None:
    """Print one neural voice's resident memory after loading and after `count` sayings, as a training runs it."""
    import onnxruntime as ort

    from earmuff.wakeword.train import heap, words

    def status() -> str:
        with open("/proc/self/status") as f:
            kb = {line.split(":")[0]: line.split()[1] for line in f if line.startswith(("VmHWM", "VmRSS"))}
        return f"peak {int(kb['VmHWM']):,} kB, now {int(kb['VmRSS']):,} kB"

    heap.map_large_arrays()
    real_session, real_give_back = ort.InferenceSession, heap.give_back
    if as_before:

        def with_pattern(model, options, **kw):
            options.enable_mem_pattern = True
            return real_session(model, options, **kw)

        ort.InferenceSession = with_pattern
        if family == "piper":  # Kokoro's load handed its heap back already
            heap.give_back = lambda: None  # during the load only
    voice = kokoro_voice if family == "kokoro" else neural_voice
    print(f"{family}{' as before' if as_before else ''}: before loading {status()}")
    voice.load(0)
    heap.give_back = real_give_back
    print(f"after loading: {status()}")
    rng = random.Random(3)
    texts = ["hey bramble"] * (count // 3) + words.sentences(count // 3, rng)
    texts += words.single_words(count - len(texts), rng)
    rng.shuffle(texts)
    cpu = time.process_time()
    for i, text in enumerate(texts):
        speed = rng.uniform(0.7, 1.4)
        voice.speak(text, speed, 0.667) if family == "piper" else voice.speak(text, 1 / speed, i)
    print(f"after {count} sayings: {status()}; {time.process_time() - cpu:.1f} CPU s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["listen", "cost", "memory"])
    p.add_argument("--families", nargs="+", default=["kokoro", "espeak-ng", "piper", "flite"])
    p.add_argument(
        "--count", type=int, default=None, help="speakers per family (listen, 20) or sayings (cost, 50; memory, 150)"
    )
    p.add_argument("--as-before", action="store_true", help="memory: load the voice as before 2026-12-01")
    a = p.parse_args()
    if a.what == "listen":
        listen(a.families, a.count or 20)
    elif a.what == "cost":
        cost(max(a.count or 50, 11))
    else:
        memory(a.families[0], a.count or 150, a.as_before)


if __name__ == "__main__":
    main()
