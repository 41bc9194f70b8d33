"""Injected faults in the real firmware code: the noise stays on, or comes back within one lease.
(Relay off here, so that the window opens on the name; faults in a relay: tests/test_relay.py.)"""

import dataclasses

import pytest

from audiolib import assert_fail_closed, synth
from earmuff import config
from earmuff.paths import Paths
from earmuff.sim.scene import load_scene
from earmuff.sim.simulate import simulate

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def voice(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    synth(folder / "name.wav", "hey jarvis", "flite", "kal16")
    synth(
        folder / "talk.wav",
        "and then we drove all the way up the coast, stopping at every little town " * 3,
        "flite",
        "slt",
    )
    return folder


def run(folder, faults: str, extra: str = "", duration: float = 10.0):
    scene = folder / "scene.toml"
    scene.write_text(
        f'duration_s = {duration}\nseed = 2\nwake_word = "hey jarvis"\n'
        '[[source]]\nfile = "name.wav"\nstart_s = 2.0\ndistance_m = 1.0\nlevel_db_spl = 65.0\n' + extra + faults
    )
    cfg = config.load(Paths.from_env().config)
    return simulate(load_scene(scene), dataclasses.replace(cfg, window=dataclasses.replace(cfg.window, relay=False)))


def kinds(result):
    return [e["event"] for e in result.events]


def test_detector_raising_keeps_the_noise_on_and_recovers(voice):
    again = '[[source]]\nfile = "name.wav"\nstart_s = 7.0\ndistance_m = 1.0\nlevel_db_spl = 65.0\n'
    r = run(voice, '[[fault]]\nkind = "detector_raise"\nat_s = 1.0\nduration_s = 4.0\n', again)
    assert r.summary["detector_errors"] >= 40  # every frame for 4 s
    fault = next(e for e in r.events if e["event"] == "fault")
    assert fault["kind"] == "detector_raise" and fault["t"] == 1.0
    opened = [e["t"] for e in r.events if e["event"] == "jam_off"]
    assert len(opened) == 1 and opened[0] > 7.0  # not the name said during the fault, but the one after it
    assert_fail_closed(r, max_window_s=20.0)


@pytest.mark.parametrize("kind", ["detector_hang", "worker_stall"])
def test_hang_inside_an_open_window_brings_the_noise_back_within_a_lease(voice, kind):
    r = run(voice, f'[[fault]]\nkind = "{kind}"\nat_s = 3.6\nduration_s = 2.0\n')
    assert kinds(r)[:2] == ["wake_detected", "jam_off"], r.events
    jam_on = next(e for e in r.events if e["event"] == "jam_on")
    assert jam_on["reason"] == "lease_expired"
    assert jam_on["t"] <= 3.6 + 0.4 + 0.1  # one lease (0.4 s) after the last frame before the hang
    assert kinds(r).count("jam_off") == 1  # the late worker did not reopen it
    assert_fail_closed(r, max_window_s=20.0)


def test_window_never_exceeds_its_maximum(voice, earmuff_home):
    (earmuff_home / "config.toml").write_text("[window]\nmax_s = 4.0\n")
    talk = '[[source]]\nfile = "talk.wav"\nstart_s = 3.4\ndistance_m = 0.8\nlevel_db_spl = 68.0\n'
    r = run(voice, "", talk, duration=14.0)
    jam_off = next(e for e in r.events if e["event"] == "jam_off")
    jam_on = next(e for e in r.events if e["event"] == "jam_on")
    assert jam_on["reason"] == "max_window"
    assert 3.8 <= jam_on["t"] - jam_off["t"] <= 4.05
    assert_fail_closed(r, max_window_s=4.0)
