"""Name advice before training: short names, everyday words, names close to the smart speaker's own."""

import os
import signal
import subprocess
import sys

import pytest

from earmuff.wakeword.train import advice

pytestmark = pytest.mark.unit


def test_good_names_get_no_advice():
    for name, lang in [
        ("hey bramble", "en-us"),
        ("okay marigold", "en-us"),
        ("hello juniper", "en-us"),
        ("bonjour maison", "fr"),
        ("hey jarvis", "en-us"),
    ]:
        assert advice.advise(name, lang) == [], name


def test_short_names_are_counted_by_syllable():
    assert [advice.syllables(n, "en-us") for n in ("bob", "nova", "marigold", "okay marigold")] == [1, 2, 3, 5]
    (line,) = advice.advise("nova", "en-us")
    assert "'nova' is short (2 syllables)" in line and "at least 3" in line


def test_everyday_words_and_the_speakers_own_wake_words_are_named():
    assert any("'kitchen' is said in everyday talk" in w for w in advice.advise("hey kitchen", "en-us"))
    assert advice.advise("hey computer", "en-us") == [
        "'hey computer' contains the smart speaker's own wake word 'computer'"
    ]
    for near in ("alexis", "hey lexi", "lexa"):
        assert any("close to the smart speaker's wake word 'alexa'" in w for w in advice.advise(near, "en-us")), near
    assert any("'echo'" in w for w in advice.advise("echo park", "en-us"))


def test_set_gives_the_advice_before_training_and_checks_the_language_first(tmp_path):
    env = {**os.environ, "EARMUFF_HOME": str(tmp_path)}
    r = subprocess.run(
        [sys.executable, "-m", "earmuff", "wakeword", "set", "bob", "--lang", "xx-yy"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode != 0 and "language 'xx-yy'" in r.stderr and "advice:" not in r.stderr
    # SIGINT as a terminal gives it, even where this test runs in a background job (which ignores SIGINT).
    p = subprocess.Popen(
        [sys.executable, "-m", "earmuff", "wakeword", "set", "nova"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines = []
    try:
        for line in p.stderr:
            lines.append(line)
            if "anyway" in line:
                break
    finally:
        p.send_signal(signal.SIGINT)  # the training has started: stop it, as the owner's Ctrl-C would
        p.wait(timeout=120)
    assert lines[0].startswith("advice: 'nova' is short (2 syllables)"), lines
    assert "a good wake name has 3-5 syllables" in lines[-1] and "training 'nova' anyway" in lines[-1]
    assert not (tmp_path / "wakewords" / "nova" / "model.onnx").exists()  # Ctrl-C: nothing installed
