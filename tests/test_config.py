"""Config loading: defaults, validation messages that name key, value and expectation."""

import pytest

from earmuff import config

pytestmark = pytest.mark.unit


def test_missing_file_gives_defaults(earmuff_home):
    assert config.load() == config.Config()


def test_values_are_read(earmuff_home):
    (earmuff_home / "config.toml").write_text('[noise]\nlevel_dbfs = -25\n[wake]\nwake_word = "hey mycroft"\n')
    cfg = config.load()
    assert cfg.noise.level_dbfs == -25.0
    assert cfg.wake.wake_word == "hey mycroft"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[noise]\nlevel_dbfs = 5\n", "noise.level_dbfs = 5.0: expected a value from -60.0 to -3.0"),
        ("[noise]\nloudness = 1\n", "noise: unknown key 'loudness'"),
        ("[window]\nmax_s = 'long'\n", "window.max_s = 'long': expected a float"),
        ("[audio]\necho_cancel = 'magic'\n", "audio.echo_cancel = 'magic': expected one of ['none', 'fdaf']"),
        ("[wake]\nconsecutive_frames = true\n", "wake.consecutive_frames = True: expected a int"),
        ("noise = 3\n", "noise: expected a table [noise], got 3"),
        ("[noise\n", "not valid TOML"),
    ],
)
def test_bad_values_name_the_key(earmuff_home, text, fragment):
    (earmuff_home / "config.toml").write_text(text)
    with pytest.raises(config.ConfigError) as err:
        config.load()
    assert fragment in str(err.value)
    assert "config.toml" in str(err.value)
