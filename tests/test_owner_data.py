"""The owner's data: what each command deletes, retention limits, durable recordings, bad paths named (issue 17)."""

import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from earmuff import config, memory
from earmuff.cli.main import main
from earmuff.service.room_learning import RoomLearning, refit_stamp
from earmuff.wakeword.registry import room_bank, samples
from wakewordlib import install, trained_a_minute_ago

pytestmark = pytest.mark.unit

S = 16000
FIRMWARE = Path(__file__).parents[1] / "firmware"
TAKE = (0.1 * np.sin(np.arange(S) * 0.05)).astype(np.float32)


def windows(n, value=0.0):
    return np.full((n, 16, 96), value, np.float16)


def earmuff(*args, prefix=(), env=None):
    """The CLI of this worktree in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(FIRMWARE), **(env or {})}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "earmuff", *args], capture_output=True, text=True, timeout=300, env=env
    )


def test_remove_deletes_the_recordings_of_a_name_that_has_no_model(capsys, paths):
    samples.save(paths, "hey bramble", TAKE)
    samples.save(paths, "hey bramble", TAKE)
    room_bank.add(paths, windows(3), limit=100, kind=room_bank.positive_kind("hey bramble"))
    room_bank.add(paths, windows(4), limit=100)  # the room's talk: kept
    assert main(["wakeword", "remove", "hey bramble"]) == 0
    assert (
        "'hey bramble' has no model; removed, 2 recordings of your voice saying it and 3 windows"
        in capsys.readouterr().out
    )
    assert (
        samples.count(paths, "hey bramble") == 0 and room_bank.count(paths, room_bank.positive_kind("hey bramble")) == 0
    )
    assert room_bank.count(paths) == 4
    assert main(["wakeword", "remove", "hey bramble"]) == 2  # nothing left of it: said so
    assert "wake word 'hey bramble': not installed and no recordings of it" in capsys.readouterr().err


def test_remove_of_a_model_whose_version_folder_is_gone_removes_the_link(capsys, paths):
    link = install("hey teapot")
    samples.save(paths, "hey teapot", TAKE)
    os.system(f"rm -rf {link.resolve()}")  # the link dangles: the name is still listed on disk, not usable
    assert main(["wakeword", "remove", "hey teapot"]) == 0
    assert "removed 'hey teapot', 1 recordings" in capsys.readouterr().out and not os.path.lexists(link)


def test_recordings_keep_only_the_newest_recordings_max(earmuff_home, paths):
    (earmuff_home / "config.toml").write_text("[wakeword]\nrecordings_max = 5\n")
    takes = [samples.save(paths, "hey bramble", TAKE * (1 + i / 10)) for i in range(7)]
    assert samples.count(paths, "hey bramble") == 5
    assert sorted(p.name for p in (earmuff_home / "wakeword-samples" / "hey_bramble").glob("take-*.wav")) == sorted(
        p.name for p in takes[2:]
    )  # the two oldest went
    (earmuff_home / "config.toml").write_text("[wakeword]\nrecordings_max = 4\n")
    with pytest.raises(config.ConfigError, match="recordings_max = 4: expected a value from 5 to 500"):
        config.load(paths.config)


@pytest.mark.tools("strace")
def test_a_recording_is_fsynced_before_and_after_its_rename(tmp_path, earmuff_home):
    trace = tmp_path / "trace"
    code = (
        "import numpy as np; from earmuff.paths import Paths; from earmuff.wakeword.registry import samples; "
        "print(samples.save(Paths.from_env(), 'hey bramble', np.zeros(16000, np.float32)))"
    )
    r = subprocess.run(
        ["strace", "-f", "-y", "-e", "trace=fsync,rename", "-o", str(trace), sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(FIRMWARE)},
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    final = r.stdout.strip()
    calls = [line.split(None, 1)[1] for line in trace.read_text().splitlines() if "fsync(" in line or "rename(" in line]
    folder = str(Path(final).parent)
    i_file = next(i for i, c in enumerate(calls) if c.startswith("fsync(") and ".tmp" in c)  # the data, before
    i_rename = next(i for i, c in enumerate(calls) if c.startswith("rename(") and final in c)
    i_dir = next(i for i, c in enumerate(calls) if c.startswith("fsync(") and f"<{folder}>)" in c)
    assert i_file < i_rename < i_dir, calls


def test_the_room_bank_is_capped_by_age_as_well_as_count(earmuff_home, paths):
    room_bank.add(paths, windows(3, 1.0), limit=1000)
    room_bank.add(paths, windows(2, 2.0), limit=1000, kind=room_bank.positive_kind("hey bramble"))
    room_bank.add(paths, windows(4, 3.0), limit=1000)
    chunks = sorted(room_bank.folder(paths).glob("*.npy"))
    old = time.time_ns() - 91 * 86400 * 10**9
    for c in (chunks[0], chunks[2]):  # the first negative chunk and the positive one: written 91 days ago
        c.rename(c.with_name(f"{c.name.rsplit('-', 1)[0]}-{old:020d}.npy"))
    cfg = config.load(paths.config)
    assert cfg.wakeword.room_bank_max_days == 90.0
    collector = room_bank.collector(cfg, paths)
    assert collector.write(cfg.wakeword.room_bank_max, cfg.wakeword.room_bank_max_days) == {
        "neg": 0,
        room_bank.positive_kind(cfg.wake.wake_word): 0,
    }  # nothing new: the old ones go all the same
    assert room_bank.count(paths) == 4 and room_bank.load(paths)[0, 0, 0] == 3.0
    assert room_bank.count(paths, None) == 4  # the positive chunk was as old
    assert room_bank.expire(paths, 1.0, now=time.time() + 2 * 86400) == 4 and room_bank.count(paths, None) == 0
    (earmuff_home / "config.toml").write_text("[wakeword]\nroom_bank_max_days = 0\n")
    with pytest.raises(config.ConfigError, match="room_bank_max_days = 0.0: expected a value from 1.0 to 3650.0"):
        config.load(paths.config)


def test_forget_room_reports_a_deletion_that_failed(earmuff_home, paths):
    """The bank's folder read-only (a bind mount in a private mount namespace): the CLI says what is left."""
    room_bank.add(paths, windows(5), limit=100)
    bank = room_bank.folder(paths)
    shell = f'mount --bind {bank} {bank} && mount -o remount,bind,ro {bank} && exec "$@"'
    r = earmuff("wakeword", "forget-room", prefix=("unshare", "-m", "sh", "-c", shell, "sh"))
    assert r.returncode == 2, r.stderr
    assert f"earmuff: error: room bank {bank}: could not delete {bank}/neg-" in r.stderr
    assert "Read-only file system" in r.stderr and "the rest is still there" in r.stderr and "Traceback" not in r.stderr
    assert room_bank.count(paths) == 5
    r = earmuff("wakeword", "forget-room")
    assert r.returncode == 0 and "forgot the room bank (5 windows)" in r.stdout and not bank.exists()


def test_a_daemon_whose_bank_cannot_be_deleted_says_so_in_its_reply(earmuff_home, paths):
    room_bank.add(paths, windows(5), limit=100)
    bank = room_bank.folder(paths)
    shell = f'mount --bind {bank} {bank} && mount -o remount,bind,ro {bank} && exec "$@"'
    code = (
        "from earmuff import config; from earmuff.paths import Paths; from earmuff.service.listener import Daemon; "
        "paths = Paths.from_env(); print(Daemon(config.load(paths.config), paths).forget_room())"
    )
    r = subprocess.run(
        ["unshare", "-m", "sh", "-c", shell, "sh", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(FIRMWARE)},
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("{'ok': False, 'error': 'room bank ") and "Read-only file system" in r.stdout


def test_the_once_a_day_refit_limit_survives_a_restart(earmuff_home, monkeypatch, paths):
    monkeypatch.setattr(memory, "available_mb", lambda: 2000.0)  # this machine's memory must not decide
    cfg = trained_a_minute_ago(earmuff_home)
    room_bank.add(paths, windows(cfg.wakeword.refit_min_windows), limit=100000)
    device = SimpleNamespace(gate=SimpleNamespace(counter=11 * 60 * S), last_voice=0, state=lambda: ("jamming", 0.0))
    now = time.monotonic()
    first = RoomLearning(paths)
    assert first.due(cfg, device, now)
    first.refitting(now)
    assert abs(float(refit_stamp(paths).read_text()) - time.time()) < 5
    again = RoomLearning(paths)  # the service restarted
    assert not again.due(cfg, device, time.monotonic())
    refit_stamp(paths).write_text(repr(time.time() - 25 * 3600))  # a day and an hour ago
    assert RoomLearning(paths).due(cfg, device, time.monotonic())
    refit_stamp(paths).write_text(repr(time.time() + 30 * 86400))  # the clock was set back a month: counts as now
    assert not RoomLearning(paths).due(cfg, device, time.monotonic())
    refit_stamp(paths).write_text("garbage")  # unreadable: as if never (the daily limit is a courtesy, not a safety)
    assert RoomLearning(paths).due(cfg, device, time.monotonic())


@pytest.mark.parametrize(
    "kind, message",
    [
        ("device", "/dev/zero: is not a regular file (a device, pipe or socket); expected a wav or flac file"),
        ("folder", ": is a folder; expected a wav or flac file"),
        ("fifo", ": is not a regular file (a device, pipe or socket); expected a wav or flac file"),
        ("missing", ": does not exist; expected a wav or flac file"),
        ("long", ": 12.0 s long; expected at most 10 s"),
    ],
)
def test_add_samples_names_what_is_wrong_with_a_path(kind, message, tmp_path, capsys):
    from earmuff.audio.files import write_wav

    install("hey bramble")
    path = {
        "device": Path("/dev/zero"),
        "folder": tmp_path,
        "fifo": tmp_path / "pipe.wav",
        "missing": tmp_path / "gone.wav",
        "long": tmp_path / "long.wav",
    }[kind]
    if kind == "fifo":
        os.mkfifo(path)
    if kind == "long":
        write_wav(path, np.zeros(12 * S, np.float32))
    assert main(["wakeword", "add-samples", str(path), "--name", "hey bramble", "--no-retrain"]) == 2
    err = capsys.readouterr().err
    assert f"refused: audio file {path}{message}" in err or f"refused: audio file {message}" in err, err


def test_simulate_refuses_a_scene_longer_than_it_can_hold(tmp_path, monkeypatch, capsys):
    from earmuff.sim.scene import MAX_DURATION_S

    scene = tmp_path / "day.toml"
    scene.write_text("duration_s = 86400\n")
    r = earmuff("simulate", str(scene), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"duration_s = 86400: expected a number from 0.5 to {MAX_DURATION_S}" in r.stderr
    scene.write_text(f"duration_s = {MAX_DURATION_S}\n")
    monkeypatch.setattr(memory, "available_mb", lambda: 1000.0)  # a Raspberry Pi with 1 GB free
    assert main(["simulate", str(scene), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    from earmuff.sim.simulate import BASE_MB, MB_PER_S, WARMUP_S

    seconds = MAX_DURATION_S + WARMUP_S  # the device runs a while before the scene starts
    assert (
        f"scene of {seconds:.0f} s: needs about {BASE_MB + MB_PER_S * seconds:.0f} MB of memory and 1000 MB is "
        f"available; expected a scene of at most {(1000 - BASE_MB) / MB_PER_S:.0f} s here"
    ) in err
