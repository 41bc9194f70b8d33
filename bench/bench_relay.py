"""Benchmark of the relay: one-breath commands after the wake name, relayed, passed through, or no shield at all.

Usage: .venv/bin/python bench/bench_relay.py [--quick] [--only relay|trigger] [--seed N] [--window KEY=VALUE ...]
       [--noise KEY=VALUE ...] [--set module.NAME=VALUE ...]
Writes the sections "relay" and "relay-trigger" of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import itertools
import os
from pathlib import Path

import numpy as np

from bench_noise import DECODER_OPTIONS, word_recall
from benchlib import (
    Utterance,
    apply_settings,
    command_line,
    fmt_pct,
    mww_scores,
    oww_scores,
    scene_text,
    speech_end,
    speech_span,
    synth,
    window_max,
    workdir,
    write_section,
)
from earmuff.audio.files import trigger_audio
from earmuff.audio.room import Acoustics
from earmuff.config import SAMPLE_RATE, Config, NoiseConfig, WindowConfig
from earmuff.runtime.noise_gate import RELAY_GAP
from earmuff.sim.scene import load_scene
from earmuff.sim.simulate import simulate

VOICES = [("flite", "kal16"), ("flite", "rms"), ("espeak-ng", "en-us"), ("flite", "awb"), ("espeak-ng", "en-gb")]
COMMANDS = [
    "what is the weather tomorrow",
    "turn off the kitchen lights",
    "set a timer for ten minutes",
    "play some music in the living room",
]
PLACES = [(0.5, 70.0), (1.0, 65.0), (2.0, 60.0), (3.0, 55.0), (1.0, 55.0), (2.0, 70.0), (3.0, 65.0)]
SPACING_S = 16.0  # one trial: the sentence, the recording, the relay and the window's quiet end fit in this
CONDITIONS = ("relay", "pass-through", "shield off")


@dataclasses.dataclass(frozen=True)
class Trial:
    """One sentence said in one breath: by whom, where, and how long its parts are."""

    owner: Utterance  # "hey jarvis, <command>"
    reference: Utterance  # "Alexa, <command>", the same voice at the same place, for the shield-off reference
    command: str
    speech_end_s: float  # when the owner's speech ends at the device (scene time)
    command_s: float  # length of the command said alone by the same voice


def build(folder: Path, quick: bool) -> list[Trial]:
    """Synthesize every sentence; one trial every SPACING_S seconds."""
    voices, commands = (VOICES[:2], COMMANDS[:2]) if quick else (VOICES, COMMANDS)
    trials = []
    for i, ((engine, voice), command) in enumerate(itertools.product(voices, commands)):
        distance, level = PLACES[i % len(PLACES)]
        start = 1.0 + i * SPACING_S
        owner = synth(folder / f"owner{i}.wav", f"hey jarvis, {command}", engine, voice)
        ref = synth(folder / f"ref{i}.wav", f"Alexa, {command}", engine, voice)
        alone = synth(folder / f"cmd{i}.wav", command, engine, voice)
        first, last = speech_span(alone)
        trials.append(
            Trial(
                Utterance(owner, start, distance, level, voice),
                Utterance(ref, start, distance, level, voice),
                command,
                round(start + speech_end(owner) + distance / 343, 3),
                last - first,
            )
        )
    return trials


def run(
    folder: Path,
    trials: list[Trial],
    condition: str,
    seed: int = 11,
    window: dict | None = None,
    noise: dict | None = None,
) -> dict:
    """Simulate one condition over all trials (scene `seed`, `[window]` and `[noise]` settings changed by `window` and
    `noise`); the smart speaker's microphone, events and what was played."""
    spoken = [t.reference if condition == "shield off" else t.owner for t in trials]
    path = folder / f"{condition.replace(' ', '-')}.toml"
    extra = 'wake_word = "hey jarvis"' + ("\n[device]\njam = false" if condition == "shield off" else "")
    path.write_text(scene_text(spoken, 1.0 + len(trials) * SPACING_S, seed, extra))
    cfg = Config(window=WindowConfig(relay=condition == "relay", **(window or {})), noise=NoiseConfig(**(noise or {})))
    r = simulate(load_scene(path), cfg)
    return {"echo": r.echo_mic, "events": r.events, "out": r.speaker_out, "summary": r.summary}


def decode(decoder, audio: np.ndarray) -> str:
    """pocketsphinx's en-us transcript of `audio`."""
    decoder.start_utt()
    decoder.process_raw((np.clip(audio, -1, 1) * 32767).astype(np.int16).tobytes(), full_utt=True)
    decoder.end_utt()
    return decoder.hyp().hypstr if decoder.hyp() else ""


def measure(trials: list[Trial], condition: str, result: dict) -> list[dict]:
    """Per trial: name detected, trigger heard by each detector, command words found, relay timing and leakage."""
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=SAMPLE_RATE, **DECODER_OPTIONS)
    echo, events = result["echo"], result["events"]
    oww, mww = oww_scores(echo), mww_scores(echo)
    room_coupling = Acoustics().room_coupling_db_spl
    rows = []
    for t in trials:
        a, b = t.owner.start_s, t.owner.start_s + SPACING_S
        mine = [e for e in events if a <= e["t"] < b]
        at = {e["event"]: e["t"] for e in reversed(mine)}  # the first of each kind
        row = {
            "name": "wake_detected" in at,
            "fallback": "relay_fallback" in at,
            "cut": any(e.get("cut") for e in mine if e["event"] == "relay_recorded"),
        }
        if condition == "shield off":
            span = (a, t.speech_end_s + 0.5)
            heard_from = a
        elif "jam_off" in at:
            span = (at["jam_off"], at.get("jam_on", b))
            heard_from = at.get("trigger_start", at["jam_off"])
        else:
            span, heard_from = None, None
        if span is None:
            row.update(oww=False, mww=False, found=0)
        else:
            row["oww"] = window_max(oww, 0.08, heard_from, heard_from + 2.0) > 0.5
            row["mww"] = window_max(mww, 0.01, heard_from, heard_from + 2.0) > 0.5
            hyp = decode(decoder, echo[int(span[0] * SAMPLE_RATE) : int((span[1] + 0.3) * SAMPLE_RATE)])
            row["found"], row["hyp"] = word_recall(t.command, hyp)[0], hyp
        row["total"] = len(t.command.split())
        if "relay_end" in at:
            row["delay"] = at["relay_end"] - t.speech_end_s
            row["over"] = row["delay"] - t.command_s  # the goal: at most 0.5 s
            out = result["out"][int(at["relay_start"] * SAMPLE_RATE) : int(at["relay_end"] * SAMPLE_RATE)]
            row["leak"] = room_coupling + 10 * np.log10(np.mean(out.astype(np.float64) ** 2) + 1e-20)
        rows.append(row)
    return rows


def summary_row(condition: str, rows: list[dict]) -> str:
    """One line of the table."""
    n = len(rows)
    both = np.mean([r["oww"] and r["mww"] for r in rows])
    words = sum(r["found"] for r in rows) / sum(r["total"] for r in rows)
    name = "-" if condition == "shield off" else fmt_pct(np.mean([r["name"] for r in rows]))
    delays = [r["delay"] for r in rows if "delay" in r]
    over = [r["over"] for r in rows if "over" in r]
    leaks = [r["leak"] for r in rows if "leak" in r]
    timing = (
        f"{np.median(delays):.2f} s (max {max(delays):.2f}) / {np.median(over):+.2f} s (max {max(over):+.2f})"
        if delays
        else "-"
    )
    leak = f"{np.mean(leaks):.1f} dB SPL" if leaks else "-"
    named = [r for r in rows if r["name"] or condition == "shield off"]
    given = (
        f"{fmt_pct(np.mean([r['oww'] and r['mww'] for r in named]))} / "
        f"{fmt_pct(sum(r['found'] for r in named) / max(1, sum(r['total'] for r in named)))}"
        if named
        else "-"
    )
    return (
        f"| {condition} | {n} | {name} | {fmt_pct(np.mean([r['oww'] for r in rows]))} | "
        f"{fmt_pct(np.mean([r['mww'] for r in rows]))} | {fmt_pct(both)} | {fmt_pct(words)} | {given} | {timing} | "
        f"{leak} | {sum(r['fallback'] for r in rows)} / {sum(r['cut'] for r in rows)} |"
    )


def verdict(table: dict[str, list[dict]], w: WindowConfig) -> str:
    """The goals of the relay against the figures, on the sentences whose name earmuff detected in relay."""
    relay, passed, off = (table[c] for c in CONDITIONS)
    named = [i for i, r in enumerate(relay) if r["name"]]
    if not named:
        return "earmuff detected none of the wake names: nothing to judge."

    def words(rows: list[dict]) -> float:
        return sum(rows[i]["found"] for i in named) / sum(rows[i]["total"] for i in named)

    trigger = np.mean([relay[i]["oww"] and relay[i]["mww"] for i in named])
    over = float(np.median([r["over"] for r in relay if "over" in r]))
    fixed = w.pre_roll_s + len(trigger_audio(w.trigger)) / SAMPLE_RATE + RELAY_GAP / SAMPLE_RATE
    better = trigger >= np.mean([passed[i]["oww"] and passed[i]["mww"] for i in named]) and words(relay) > words(passed)
    return (
        f"On the {len(named)} sentences whose wake name earmuff detected in relay (the relay changes nothing before the name is\n"
        "detected; the name's recall through the noise: section \"Recall of the owner's wake name\"):\n\n"
        f"- Trigger heard by both detectors: relay {fmt_pct(trigger)} (goal >= 95 %: {'met' if trigger >= 0.95 else 'not met'}).\n"
        f"- Command words found: relay {fmt_pct(words(relay))}, pass-through {fmt_pct(words(passed))}, shield off "
        f"{fmt_pct(words(off))} (goal: relay at least the shield-off reference: {'met' if words(relay) >= words(off) else 'not met'}).\n"
        f"- End of speech to end of relay: median {over:+.2f} s over the command's own length (goal <= +0.5 s: "
        f"{'met' if over <= 0.5 else 'not met'}). The relay is a delay line: it ends its lag after the speech,\n"
        f'  {fixed:.2f} s (the pre-roll, {w.pre_roll_s:g} s, "Alexa" and the gap after it) plus how long the command had\n'
        "  been going when the window opened (the detector fires a few hundred ms after the name), whatever its length.\n"
        f"- Relay {'is' if better else 'is not'} better than pass-through on both the trigger and the words: "
        f"`[window] relay` defaults to {'true' if better else 'false'}.\n"
    )


def bench_trigger() -> None:
    """Both detectors on the trigger alone, played at several levels 0.5 s after 3 s of the device's noise stopped."""
    from earmuff.audio.noise import NoiseGenerator
    from earmuff.audio.room import db_gain

    ac, cfg = Acoustics(), Config()
    trigger = trigger_audio(cfg.window.trigger)
    trigger = trigger / np.sqrt(np.mean(trigger**2))
    rng = np.random.default_rng(0)
    mic_noise = db_gain(ac.mic_noise_db_spl - 120.0)
    rows = []
    for noise_dbfs in (cfg.noise.quiet_level_dbfs, cfg.noise.level_dbfs):
        noise = NoiseGenerator(2, noise_dbfs, cfg.noise.modulation_depth, 1, cfg.noise.kind).generate(3 * SAMPLE_RATE)
        cup = db_gain(ac.cup_coupling_db_spl - 120.0)  # what a 0 dBFS output gives at the mic, as the virtual room
        for level in (-45.0, -35.0, -30.0, -25.0):
            x = np.concatenate(
                [
                    cup * (noise[:, 0] + 0.1 * noise[:, 1]),
                    np.zeros(SAMPLE_RATE // 2),
                    cup * 1.1 * db_gain(level) * trigger,
                    np.zeros(SAMPLE_RATE),
                ]
            )
            x = (x + mic_noise * rng.standard_normal(len(x))).astype(np.float32)
            rows.append(
                f"| {noise_dbfs:g} dBFS ({ac.cup_coupling_db_spl + noise_dbfs:.0f} dB SPL) | {level:g} dBFS "
                f"({ac.cup_coupling_db_spl + level:.0f} dB SPL) | {oww_scores(x).max():.2f} | {mww_scores(x).max():.2f} |"
            )
    body = (
        "## Relay: the trigger's level\n\n"
        f"The trigger (`models/triggers/{cfg.window.trigger}.wav`) as the smart speaker's microphone gets it through the\n"
        "virtual cup, 0.5 s after 3 s of earmuff's noise stopped (the window's pre-roll), with the microphone's\n"
        "self-noise: the highest score of openWakeWord (oww) and microWakeWord (mww). microWakeWord's front end is\n"
        "still adapted to the noise; the louder the noise was, the louder the trigger must be.\n\n"
        "| noise played before (in the cup) | trigger RMS (in the cup) | oww | mww |\n|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\n"
        f"Default `[window] trigger_level_dbfs` = {cfg.window.trigger_level_dbfs:g}; the relayed command plays at "
        f"`relay_level_dbfs` = {cfg.window.relay_level_dbfs:g}.\n"
    )
    write_section("relay-trigger", body, command_line())
    print(body)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", choices=["relay", "trigger"])
    p.add_argument("--seed", type=int, default=11, help="the scene's seed (the room, the talkers' placement)")
    p.add_argument(
        "--window",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a [window] setting for every condition, e.g. relay_level_dbfs=-35 (repeatable)",
    )
    p.add_argument("--noise", action="append", default=[], metavar="KEY=VALUE", help="a [noise] setting, the same way")
    p.add_argument(
        "--set", action="append", default=[], metavar="module.NAME=VALUE", help="a constant of earmuff.runtime.<module>"
    )
    args = p.parse_args()
    window, noise = (
        {k: ast.literal_eval(v) for k, v in (w.split("=", 1) for w in a)} for a in (args.window, args.noise)
    )
    used = WindowConfig(**window)
    apply_settings(args.set, "earmuff.runtime")
    if args.only != "relay":
        bench_trigger()
    if args.only == "trigger":
        return
    load = os.getloadavg()
    folder = workdir()
    trials = build(folder, args.quick)
    results = [
        run(folder, trials, c, args.seed, window, noise) for c in CONDITIONS
    ]  # one at a time: a loaded machine drops blocks
    table = {c: measure(trials, c, r) for c, r in zip(CONDITIONS, results)}
    detail = []
    for i, t in enumerate(trials):
        cells = " | ".join(
            f"{'T' if table[c][i]['oww'] and table[c][i]['mww'] else '-'} {table[c][i]['found']}/{table[c][i]['total']}"
            for c in CONDITIONS
        )
        detail.append(
            f"| {t.owner.label} | {t.owner.distance_m} m, {t.owner.level_db_spl:.0f} dB | {t.command} | {cells} |"
        )
    voices = sorted({t.owner.label for t in trials})
    body = (
        "## Relay: a command said in one breath after the wake name\n\n"
        f'"hey jarvis, <command>" said in one breath by {len(voices)} synthetic voices ({", ".join(voices)}), '
        f"{len(trials)} sentences at 0.5-3 m and 55-70 dB SPL (at 1 m), one every {SPACING_S:.0f} s, in the virtual room\n"
        "(default acoustics: RT60 0.4 s, 3 % THD, 50 ppm drift). Three conditions: **relay** (`[window] relay = true`:\n"
        'earmuff jams through the name, stops the noise as the command begins and plays "Alexa" and then the command\n'
        "into the cups as a delay line while it is still being said and recorded),\n"
        "**pass-through** (today: the window opens on the name and the owner's live speech goes through), and\n"
        '**shield off** (the same voice says "Alexa, <command>" straight to the unshielded smart speaker: the reference).\n'
        "On the smart speaker's microphone: the trigger detected (score > 0.5 within 2 s of the trigger's start, or of\n"
        "the sentence's start for the reference) by openWakeWord (oww) and microWakeWord (mww); the command's words\n"
        "found by pocketsphinx in the window (each said word counted once). Delay: end of the owner's speech at the\n"
        "device to the end of the relayed command / the same minus the command's own length (goal: <= +0.5 s).\n"
        "Leakage: the relay's level 1 m from the device (room coupling 60 dB SPL at 0 dBFS). The relay plays the trigger\n"
        f"at {used.trigger_level_dbfs:g} dBFS RMS and the command at {used.relay_level_dbfs:g} "
        "(`[window] trigger_level_dbfs`, `relay_level_dbfs`).\n\n"
        "| condition | sentences | name detected | trigger oww | trigger mww | both | command words | both / words when the name was detected | delay / over the command's length (median, max) | relay leakage at 1 m | fall-backs / cut |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
        + "\n".join(summary_row(c, table[c]) for c in CONDITIONS)
        + "\n\n"
        + verdict(table, used)
        + "\nPer sentence (T: the trigger heard by both detectors; words found / said):\n\n"
        "| voice | place | command | relay | pass-through | shield off |\n|---|---|---|---|---|---|\n"
        + "\n".join(detail)
        + "\n\n"
        + f"Load average (1 min) of the machine at the start and end of the run: {load[0]:.1f} / {os.getloadavg()[0]:.1f}. "
        + "Blocks the simulated device's worker dropped or got late (a loaded machine): "
        + ", ".join(
            f"{c} {r['summary'].get('dropped_blocks', 0)} / {r['summary'].get('xruns', 0)}"
            for c, r in zip(CONDITIONS, results)
        )
        + ".\n"
    )
    write_section("relay", body, command_line())
    print(body)
    for c in CONDITIONS:
        print(c, [r.get("hyp", "") for r in table[c]])
    print("relay fall-backs:", [e["reason"] for e in results[0]["events"] if e["event"] == "relay_fallback"])


if __name__ == "__main__":
    main()
