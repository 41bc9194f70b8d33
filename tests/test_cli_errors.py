"""Bad input gets one clear line naming the thing, the value and what was expected, and exit code 2."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.sim


def earmuff(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "earmuff", *args], capture_output=True, text=True, cwd=cwd)


def check(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_missing_model_file(tmp_path):
    scene = tmp_path / "s.toml"
    scene.write_text('duration_s = 2.0\nwake_word = "gone.tflite"\n')
    check(
        earmuff("simulate", str(scene), "--out", str(tmp_path / "o")),
        f"wake-word model file {tmp_path}/gone.tflite: does not exist",
    )


def test_corrupt_model_file(tmp_path):
    (tmp_path / "junk.tflite").write_bytes(b"this is not a model" * 50)
    scene = tmp_path / "s.toml"
    scene.write_text('duration_s = 2.0\nwake_word = "junk.tflite"\n')
    check(earmuff("simulate", str(scene), "--out", str(tmp_path / "o")), "junk.tflite: cannot be loaded")


def test_unknown_wake_word_lists_the_choices(tmp_path):
    scene = tmp_path / "s.toml"
    scene.write_text('duration_s = 2.0\nwake_word = "hey bramble"\n')
    check(
        earmuff("simulate", str(scene), "--out", str(tmp_path / "o")),
        "wake word 'hey bramble': no such wake word",
        "hey jarvis",
    )


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("duration_s = 2.0\nloudness = 3\n", "scene: unknown key 'loudness'"),
        ("seed = 1\n", "duration_s: missing"),
        ("duration_s = 2.0\n[acoustics]\nrt60_s = 9.0\n", "acoustics.rt60_s = 9.0: expected a value from 0.05 to 2.0"),
        (
            "duration_s = 2.0\n[[source]]\nfile = 'nope.wav'\nstart_s = 0.0\n",
            "source[0].file = 'nope.wav': no such file",
        ),
        ("duration_s = 2.0\n[[fault]]\nkind = 'meteor'\nat_s = 1.0\n", "fault[0].kind = 'meteor': expected one of"),
        ("duration_s = 2.0\n[device]\njam = 'yes'\n", "device.jam = 'yes': expected true or false"),
        ("duration_s = = 2\n", "not valid TOML"),
    ],
)
def test_malformed_scene_names_file_and_key(tmp_path, body, fragment):
    scene = tmp_path / "bad.toml"
    scene.write_text(body)
    check(earmuff("simulate", str(scene), "--out", str(tmp_path / "o")), str(scene), fragment)


def test_unreadable_audio_in_a_scene(tmp_path):
    (tmp_path / "clip.wav").write_bytes(b"RIFF....garbage")
    scene = tmp_path / "s.toml"
    scene.write_text('duration_s = 2.0\n[[source]]\nfile = "clip.wav"\nstart_s = 0.0\n')
    check(earmuff("simulate", str(scene), "--out", str(tmp_path / "o")), "clip.wav: cannot be decoded")


def test_bad_config_file(earmuff_home, tmp_path):
    (earmuff_home / "config.toml").write_text("[noise]\nlevel_dbfs = 10\n")
    scene = tmp_path / "s.toml"
    scene.write_text("duration_s = 2.0\n")
    check(
        earmuff("simulate", str(scene), "--out", str(tmp_path / "o")),
        "noise.level_dbfs = 10.0: expected a value from -60.0 to -3.0",
    )
