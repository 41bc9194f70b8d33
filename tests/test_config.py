"""Config loading: defaults, validation messages that name key, value and expectation."""

import pytest

from earmuff import config

pytestmark = pytest.mark.unit


def test_missing_file_gives_defaults(earmuff_home, paths):
    assert config.load(paths.config) == config.Config()


def test_values_are_read(earmuff_home, paths):
    (earmuff_home / "config.toml").write_text('[noise]\nlevel_dbfs = -25\n[wake]\nwake_word = "hey mycroft"\n')
    cfg = config.load(paths.config)
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
def test_bad_values_name_the_key(earmuff_home, text, fragment, paths):
    (earmuff_home / "config.toml").write_text(text)
    with pytest.raises(config.ConfigError) as err:
        config.load(paths.config)
    assert fragment in str(err.value)
    assert "config.toml" in str(err.value)


OWNER = "# mine\n[noise]\nlevel_dbfs = -25  # quieter at night\n\n[window]  # note\nmax_s = 15.0\n\n[wake] # x\nthreshold = 0.6\n"


def test_edit_keeps_comments_and_layout(earmuff_home, paths):
    path = earmuff_home / "config.toml"
    path.write_text(OWNER)
    cfg = config.edit(
        [("window", "voice_threshold_dbfs", -66.5), ("wake", "wake_word", 'hey "b"'), ("pause", "max_per_hour", 3)],
        path,
    )
    text = path.read_text()
    assert text.startswith(OWNER.replace("max_s = 15.0\n", "max_s = 15.0\nvoice_threshold_dbfs = -66.5\n"))
    assert text.count("[window]") == text.count("[wake]") == 1
    assert config.load(paths.config) == cfg
    assert (cfg.window.voice_threshold_dbfs, cfg.wake.wake_word, cfg.pause.max_per_hour) == (-66.5, 'hey "b"', 3)
    assert (cfg.noise.level_dbfs, cfg.window.max_s, cfg.wake.threshold) == (-25.0, 15.0, 0.6)


def test_edit_replaces_a_value_and_keeps_its_comment_and_the_files_mode(earmuff_home):
    path = earmuff_home / "config.toml"
    path.write_text("[window]\nvoice_threshold_dbfs = -70  # calibrated in May\n")
    path.chmod(0o640)
    config.edit([("window", "voice_threshold_dbfs", -61.0)], path)
    assert path.read_text() == "[window]\nvoice_threshold_dbfs = -61.0  # calibrated in May\n"
    assert path.stat().st_mode & 0o777 == 0o640


def test_edit_creates_a_missing_file(earmuff_home, paths):
    config.edit([("window", "voice_threshold_dbfs", -61.0)], paths.config)
    assert (earmuff_home / "config.toml").read_text() == "[window]\nvoice_threshold_dbfs = -61.0\n"


@pytest.mark.parametrize(
    "text, edit, fragment",
    [
        (
            OWNER,
            ("window", "voice_threshold_dbfs", -120.0),
            "window.voice_threshold_dbfs = -120.0: expected a value from",
        ),
        (OWNER, ("wake", "loudness", 1), "wake: unknown key 'loudness'"),
        (OWNER, ("volume", "level", 1), "unknown key 'volume'"),
        ("[wake]\nthreshold = 5\n", ("wake", "wake_word", "hey x"), "wake.threshold = 5.0: expected a value from"),
        ("wake = 3\n", ("wake", "wake_word", "hey x"), "wake = 3: expected a table [wake]"),
        ("[window]  # note\n[window]\n", ("window", "max_s", 9.0), "not valid TOML"),
        ("[window\n", ("window", "max_s", 9.0), "not valid TOML"),
    ],
)
def test_an_edit_that_would_break_the_config_is_refused_and_changes_nothing(earmuff_home, text, edit, fragment):
    path = earmuff_home / "config.toml"
    path.write_text(text)
    before = path.read_bytes()
    with pytest.raises(config.ConfigError) as err:
        config.edit([edit], path)
    assert fragment in str(err.value) and str(path) in str(err.value) and "it was not changed" in str(err.value)
    assert path.read_bytes() == before
    assert [p.name for p in earmuff_home.iterdir()] == ["config.toml"]  # no temporary file left behind
