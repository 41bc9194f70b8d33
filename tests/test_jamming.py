"""With jamming on, the smart speaker's microphone never hears "Alexa"; switched off, it does."""

from pathlib import Path

import numpy as np
import pytest

from audiolib import frame_scores, max_in, synth
from earmuff import config
from earmuff.sim.scene import load_scene
from earmuff.sim.simulate import simulate

pytestmark = pytest.mark.sim

VOICES = [("espeak-ng", "en"), ("espeak-ng", "en-gb"), ("flite", "slt"), ("flite", "awb"), ("flite", "rms")]
PLACES = [(0.5, 70.0), (1.0, 62.0), (2.0, 66.0), (3.0, 70.0), (1.5, 55.0)]
GAP_S = 4.0


@pytest.fixture(scope="module")
def alexa_scene(tmp_path_factory) -> tuple[Path, list[tuple[float, str]]]:
    """One scene with 'Alexa, ...' said by several voices at several distances and levels, one every 4 s."""
    folder = tmp_path_factory.mktemp("jam")
    body, marks = [], []
    for i, ((engine, voice), (distance, level)) in enumerate(zip(VOICES * 2, PLACES + PLACES[::-1])):
        clip = synth(folder / f"u{i}.wav", "Alexa, what time is it?", engine, voice)
        start = 1.0 + i * GAP_S
        body.append(
            f'[[source]]\nfile = "{clip.name}"\nstart_s = {start}\ndistance_m = {distance}\nlevel_db_spl = {level}\n'
        )
        marks.append((start, f"{voice} at {distance} m, {level} dB SPL"))
    head = f"duration_s = {1.0 + len(marks) * GAP_S}\nseed = 3\n"
    (folder / "on.toml").write_text(head + "\n".join(body))
    (folder / "off.toml").write_text(head + "[device]\njam = false\n" + "\n".join(body))
    return folder, marks


def per_utterance_scores(audio: np.ndarray, marks) -> list[float]:
    scores = frame_scores(audio, "alexa")
    return [max_in(scores, start, start + GAP_S) for start, _ in marks]


def test_smart_speaker_never_hears_alexa_while_jamming(alexa_scene, paths):
    folder, marks = alexa_scene
    cfg = config.load(paths.config)
    on = simulate(load_scene(folder / "on.toml"), cfg)
    off = simulate(load_scene(folder / "off.toml"), cfg)
    jammed = per_utterance_scores(on.echo_mic, marks)
    heard = per_utterance_scores(off.echo_mic, marks)
    report = "\n".join(f"{m[1]}: off {h:.2f} on {j:.2f}" for m, h, j in zip(marks, heard, jammed))
    print(report)
    assert max(jammed) < 0.5, report
    # The detector does hear most of them when the device is off, so the check above can fail.
    assert sum(h > 0.5 for h in heard) >= len(marks) // 2, report
    # No window opened: nobody said the owner's wake name.
    assert not [e for e in on.events if e["event"] == "jam_off"], on.events
