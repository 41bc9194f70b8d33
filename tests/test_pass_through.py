"""Relay off: the owner's wake name opens a window: noise off, "Alexa" played, the command passes, the noise returns.
(With relay on, the default, a name followed by a pause falls back to this window 0.7 s later: tests/test_relay.py.)"""

import dataclasses

import numpy as np
import pytest

from audiolib import assert_fail_closed, frame_scores, max_in, speech_span, synth
from earmuff import config
from earmuff.sim.scene import load_scene
from earmuff.sim.simulate import simulate

pytestmark = pytest.mark.sim

NAME_AT, COMMAND_AT = 2.0, 4.9


@pytest.fixture(scope="module")
def owner_scene(tmp_path_factory):
    """The owner at 1 m says 'hey jarvis', pauses, then a command."""
    folder = tmp_path_factory.mktemp("owner")
    name = synth(folder / "name.wav", "hey jarvis", "flite", "kal16")
    command = synth(folder / "command.wav", "what is the weather tomorrow")
    body = (
        f'[[source]]\nfile = "name.wav"\nstart_s = {NAME_AT}\ndistance_m = 1.0\nlevel_db_spl = 65.0\n'
        f'[[source]]\nfile = "command.wav"\nstart_s = {COMMAND_AT}\ndistance_m = 1.0\nlevel_db_spl = 65.0\n'
    )
    (folder / "on.toml").write_text('duration_s = 12.0\nseed = 5\nwake_word = "hey jarvis"\n' + body)
    (folder / "off.toml").write_text("duration_s = 12.0\nseed = 5\n[device]\njam = false\n" + body)
    cfg = config.Config()  # the defaults: a module's scenes share no test's EARMUFF_HOME
    cfg = dataclasses.replace(cfg, window=dataclasses.replace(cfg.window, relay=False))
    on = simulate(load_scene(folder / "on.toml"), cfg)
    off = simulate(load_scene(folder / "off.toml"), cfg)
    return on, off, speech_span(name)[1], speech_span(command)


def first(events, name):
    return next(e for e in events if e["event"] == name)


def test_sequence_and_timing(owner_scene):
    on, _, name_end, (command_start, command_end) = owner_scene
    names = [e["event"] for e in on.events]
    assert names == ["wake_detected", "jam_off", "trigger_start", "trigger_end", "jam_on"], on.events
    name_end += NAME_AT
    jam_off = first(on.events, "jam_off")["t"]
    assert name_end <= jam_off <= name_end + 1.0  # after the name has been said, promptly
    assert first(on.events, "trigger_start")["t"] == pytest.approx(jam_off + 0.5, abs=0.03)
    jam_on = first(on.events, "jam_on")
    assert jam_on["reason"] == "quiet"
    command_end += COMMAND_AT
    assert command_end + 1.2 <= jam_on["t"] <= command_end + 1.5 + 0.5  # 1.5 s quiet, measured by level
    assert_fail_closed(on, max_window_s=20.0)


def test_smart_speaker_hears_alexa_and_the_command(owner_scene):
    on, off, _, (command_start, command_end) = owner_scene
    trig = first(on.events, "trigger_start")["t"], first(on.events, "trigger_end")["t"]
    scores = frame_scores(on.echo_mic, "alexa")
    assert max_in(scores, trig[0], trig[1] + 1.2) > 0.5
    assert max_in(scores, 0, trig[0]) < 0.5  # no "Alexa" before earmuff said it
    seg = slice(int((COMMAND_AT + command_start) * 16000), int((COMMAND_AT + command_end) * 16000))
    level = lambda x: 10 * np.log10(np.mean(x**2))
    # The command reaches the smart speaker as it would with no device running: no noise on top.
    assert abs(level(on.echo_mic[seg]) - level(off.echo_mic[seg])) < 1.0
    jammed = level(on.echo_mic[: int(NAME_AT * 16000)])
    assert jammed - level(on.echo_mic[seg]) > 15  # and far below the noise it hears while jamming
