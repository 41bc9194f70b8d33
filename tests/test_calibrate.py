"""Calibration measures the simulated path: delay within 1 ms, drift, echo reduction; stores results atomically."""

import json
import subprocess
import sys

import pytest

from earmuff import config
from earmuff.audio.room import Acoustics
from earmuff.config import Config
from earmuff.service import calibrate

pytestmark = pytest.mark.sim


@pytest.mark.parametrize("latency", [379, 640, 1011])
def test_finds_a_known_delay_within_1_ms(latency):
    mic, played = calibrate.record_virtual(Config(), Acoustics(), latency=latency)
    result = calibrate.measure(mic, played)
    expected_ms = (latency + 4) / 16  # sound card latency plus the 4-sample acoustic path inside the shield
    assert abs(result.delay_ms - expected_ms) < 1.0, result
    assert result.echo_reduction_db > 20
    assert -40 < result.coupling_db < -25  # 85 dB SPL coupling: -35 dB, plus the room's reflections


def test_deaf_microphone_is_a_clear_error():
    _, played = calibrate.record_virtual(Config(), Acoustics(), seconds=3.0)
    with pytest.raises(RuntimeError, match="does not hear earmuff's own speakers"):
        calibrate.measure(played[:, 0] * 0, played)


def test_set_key_keeps_the_rest_of_the_file():
    text = "# mine\n[noise]\nlevel_dbfs = -22.0\n[window]\nmax_s = 15.0\nvoice_threshold_dbfs = -70\n"
    out = calibrate.set_key(text, "window", "voice_threshold_dbfs", "-66.5")
    assert out == text.replace("-70", "-66.5")
    assert (
        calibrate.set_key("", "window", "voice_threshold_dbfs", "-66.5") == "[window]\nvoice_threshold_dbfs = -66.5\n"
    )
    assert "[window]\nmax_s = 1\nvoice_threshold_dbfs = -66.5\n[noise]" in calibrate.set_key(
        "[window]\nmax_s = 1\n[noise]\n", "window", "voice_threshold_dbfs", "-66.5"
    )


def test_cli_virtual_calibration_stores_report_and_threshold(earmuff_home):
    (earmuff_home / "config.toml").write_text("[noise]\nlevel_dbfs = -22.0\n")
    r = subprocess.run([sys.executable, "-m", "earmuff", "calibrate", "--virtual"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "delay, speakers to microphone" in r.stdout
    stored = json.loads((earmuff_home / "calibration.json").read_text())
    cfg = config.load()
    assert cfg.noise.level_dbfs == -22.0  # the owner's settings survive
    assert cfg.window.voice_threshold_dbfs == stored["voice_threshold_dbfs"]
