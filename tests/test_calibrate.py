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


def calibration(threshold):
    return calibrate.Calibration(1.0, 0.0, -35.0, 30.0, threshold - 8, threshold)


def test_save_keeps_commented_headers_and_sets_the_threshold(earmuff_home, paths):
    path = earmuff_home / "config.toml"
    path.write_text(
        "# mine\n[window]  # note\nmax_s = 15.0\n\n[wake] # x\nthreshold = 0.6\n[noise]\nlevel_dbfs = -22.0\n"
    )
    report = calibrate.save(calibration(-66.5), paths)
    text = path.read_text()
    assert (
        text
        == "# mine\n[window]  # note\nmax_s = 15.0\nvoice_threshold_dbfs = -66.5\n\n[wake] # x\nthreshold = 0.6\n"
        + ("[noise]\nlevel_dbfs = -22.0\n")
    )
    cfg = config.load(paths.config)
    assert (cfg.window.voice_threshold_dbfs, cfg.window.max_s, cfg.wake.threshold) == (-66.5, 15.0, 0.6)
    assert json.loads(report.read_text())["voice_threshold_dbfs"] == -66.5
    calibrate.save(calibration(-60.0), paths)  # again: the value is replaced, not added
    assert path.read_text() == text.replace("-66.5", "-60.0")


def test_a_threshold_the_config_cannot_hold_is_refused_and_changes_nothing(earmuff_home, paths):
    path = earmuff_home / "config.toml"
    path.write_text("[window]  # note\nvoice_threshold_dbfs = -70.0\n")
    with pytest.raises(config.ConfigError, match=r"window.voice_threshold_dbfs = -112.0: expected a value from -100"):
        calibrate.save(calibration(-112.0), paths)
    assert path.read_text() == "[window]  # note\nvoice_threshold_dbfs = -70.0\n"
    assert not (earmuff_home / "calibration.json").exists()


def test_cli_virtual_calibration_stores_report_and_threshold(earmuff_home, paths):
    (earmuff_home / "config.toml").write_text("[noise]\nlevel_dbfs = -22.0\n")
    r = subprocess.run([sys.executable, "-m", "earmuff", "calibrate", "--virtual"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "delay, speakers to microphone" in r.stdout
    stored = json.loads((earmuff_home / "calibration.json").read_text())
    cfg = config.load(paths.config)
    assert cfg.noise.level_dbfs == -22.0  # the owner's settings survive
    assert cfg.window.voice_threshold_dbfs == stored["voice_threshold_dbfs"]
