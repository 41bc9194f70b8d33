"""The room bank: private, bounded, forgettable; the collector sorts room talk from the owner's name."""

import os
import stat
from types import SimpleNamespace

import numpy as np
import pytest

from earmuff import config, memory
from earmuff.service.room_learning import RoomLearning
from earmuff.wakeword.registry import room_bank
from earmuff.wakeword.train import heap
from wakewordlib import trained_a_minute_ago

pytestmark = pytest.mark.unit

S = 16000  # samples per second
FRAME = 1280


def windows(n, value=0.0):
    return np.full((n, 16, 96), value, np.float32)


def test_bank_is_private_bounded_by_whole_chunks_and_forgettable(paths):
    assert room_bank.add(paths, windows(30, 1.0), limit=50) == 30
    assert room_bank.add(paths, windows(40, 2.0), limit=50) == 40  # the older chunk went: 70 > 50
    assert room_bank.add(paths, windows(5, 3.0), limit=50) == 45
    bank = room_bank.load(paths)
    assert bank.shape == (45, 16, 96) and bank[0, 0, 0] == 2.0 and bank[-1, 0, 0] == 3.0  # oldest first
    assert stat.S_IMODE(room_bank.folder(paths).stat().st_mode) == 0o700
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in room_bank.folder(paths).iterdir())
    room_bank.add(paths, windows(2, 9.0), limit=10, kind=room_bank.positive_kind("hey bramble"))
    assert room_bank.count(paths) == 45 and room_bank.count(paths, room_bank.positive_kind("hey bramble")) == 2
    assert room_bank.count(paths, room_bank.positive_kind("hey jarvis")) == 0  # positives belong to one wake word
    assert room_bank.forget(paths) == 47 and not room_bank.folder(paths).exists() and room_bank.count(paths) == 0


def test_a_training_reads_the_chunks_mapped_from_disk_even_once_deleted(paths):
    room_bank.add(paths, windows(3, 1.0), limit=100)
    room_bank.add(paths, windows(2, 2.0), limit=100)
    chunks = room_bank.chunks(paths)
    assert [type(c) for c in chunks] == [np.memmap, np.memmap]  # mapped, not read into memory
    np.testing.assert_array_equal(np.concatenate(chunks), room_bank.load(paths))
    room_bank.forget(paths)  # the service may drop the oldest chunks while a refit runs
    assert [c[0, 0, 0] for c in chunks] == [1.0, 2.0] and not room_bank.chunks(paths)


def _resident_kb(path) -> int:
    """kB of the file `path` resident in this process's mappings of it (/proc/self/smaps)."""
    total, mine = 0, False
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and not head[0].endswith(":"):  # a mapping's first line: address range ... path
                mine = head[-1] == str(path)
            elif mine and head[0] == "Rss:":
                total += int(head[1])
    return total


def test_the_chunks_a_fit_has_read_stop_counting_in_the_training_and_read_again(paths):
    room_bank.add(paths, windows(4000, 1.5), limit=10_000)  # 12 MB
    chunks = room_bank.chunks(paths)
    (chunk_file,) = room_bank.folder(paths).glob("*.npy")
    assert sum(float(c.astype(np.float32).sum()) for c in chunks) == 4000 * 16 * 96 * 1.5  # every page read
    read = _resident_kb(chunk_file)
    heap.forget_pages(chunks)
    assert read > 10_000 and _resident_kb(chunk_file) < 1_000
    assert np.all(chunks[0] == 1.5)  # and readable again, from the kernel's cache


def test_a_damaged_chunk_is_skipped_and_then_removed(paths):
    room_bank.add(paths, windows(3, 1.0), limit=100)
    (room_bank.folder(paths) / "neg-00000000000000000001.npy").write_bytes(b"not numpy")
    assert room_bank.count(paths) == 3 and len(room_bank.load(paths)) == 3
    room_bank.add(paths, windows(2, 2.0), limit=100)
    assert sorted(p.name for p in room_bank.folder(paths).iterdir())[0] != "neg-00000000000000000001.npy"


def feed(c, t0_s, seconds, score=0.0, voice=True, value=0.0):
    """Frames from t0_s for `seconds`, all with the same score, as the device's worker would."""
    for k in range(int(t0_s * S) // FRAME + 1, int((t0_s + seconds) * S) // FRAME + 1):
        c.observe(score, k * FRAME, voice, lambda: windows(1, value)[0])


def settled(c):
    out = []
    while not c.ready.empty():
        out.append(c.ready.get())
    return out


def test_collector_keeps_room_talk_samples_and_near_misses_once_settled(paths):
    c = room_bank.Collector(paths, "pos_x", min_score=0.3, settle_s=10.0)
    feed(c, 0, 20, score=0.05)  # 20 s of ordinary talk: one window every 2 s
    feed(c, 20, 1, score=0.4)  # a near miss: every frame of it
    feed(c, 21, 5, score=0.0, voice=False)  # silence: nothing
    feed(c, 26, 20, score=0.0, voice=False)  # time passes: everything before 36 s settles
    got = settled(c)
    assert {k for k, _ in got} == {"neg"}
    assert len(got) == 10 + 12  # one window every 2 s of talk, and every frame of the near miss


def test_a_command_makes_the_detection_a_positive_and_drops_the_windows_around_it(paths):
    c = room_bank.Collector(paths, "pos_x", min_score=0.3, settle_s=10.0)
    feed(c, 0, 5, score=0.05)
    feed(c, 5, 0.5, score=0.6, value=1.0)
    feed(c, 5.5, 0.3, score=0.95, value=7.0)  # the owner's name peaks here
    c.detected(int(5.8 * S))
    feed(c, 5.8, 30, score=0.0)  # the command, the answer, then talk; no window settles while open
    assert settled(c) == []
    c.window_closed(int(35.8 * S), command=True)
    feed(c, 35.8, 12, score=0.0)
    got = settled(c)
    positives = [w for k, w in got if k == "pos_x"]
    assert len(positives) == 1 and positives[0][0, 0] == 7.0
    negatives = [w for k, w in got if k == "neg"]
    assert all(w[0, 0] == 0.0 for w in negatives) and len(negatives) > 10  # the name's windows are in neither


def test_a_detection_without_a_command_is_a_false_accept_kept_as_negative(paths):
    c = room_bank.Collector(paths, "pos_x", min_score=0.3, settle_s=10.0)
    feed(c, 0, 1, score=0.97, value=5.0)
    c.detected(S)
    feed(c, 1, 3, score=0.0, voice=False)
    c.window_closed(4 * S, command=False)
    feed(c, 4, 12, score=0.0, voice=False)
    got = settled(c)
    assert {k for k, _ in got} == {"neg"} and sum(w[0, 0] == 5.0 for _, w in got) == 12


def test_refit_waits_for_a_trained_model_quiet_enough_new_room_talk_and_memory(earmuff_home, monkeypatch, paths):
    cfg = config.load(paths.config)
    monkeypatch.setattr(memory, "available_mb", lambda: 2000.0)  # this machine's memory must not decide
    learning = RoomLearning(paths)
    device = SimpleNamespace(gate=SimpleNamespace(counter=0), last_voice=0, state=lambda: ("jamming", 0.0))
    quiet = int(cfg.wakeword.refit_idle_minutes * 60 * S)
    device.gate.counter = quiet + S
    assert not learning.due(cfg, device, now=0.0)  # the built-in wake word: nothing to refit
    cfg = trained_a_minute_ago(earmuff_home)
    assert not learning.due(cfg, device, now=0.0)  # no room talk since the model was made
    room_bank.add(paths, windows(cfg.wakeword.refit_min_windows), limit=100000)
    assert learning.due(cfg, device, now=0.0)
    device.last_voice = device.gate.counter - S  # someone spoke a second ago
    assert not learning.due(cfg, device, now=0.0)
    device.last_voice = 0
    device.state = lambda: ("window", 0.0)
    assert not learning.due(cfg, device, now=0.0)
    device.state = lambda: ("jamming", 0.0)
    learning.last_refit = -60.0  # refitted a minute ago
    assert not learning.due(cfg, device, now=0.0)
    learning.last_refit = float("-inf")
    monkeypatch.setattr(memory, "available_mb", lambda: memory.REFIT_MB - 50.0)  # less than a refit needs
    assert not learning.due(cfg, device, now=0.0) and learning.told_memory
    monkeypatch.setattr(memory, "available_mb", lambda: 2000.0)
    assert learning.due(cfg, device, now=0.0) and not learning.told_memory


def test_available_memory_is_read_from_the_kernel():
    free = memory.available_mb()
    assert free is not None and 0 < free < os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20


def test_forget_room_also_drops_what_the_running_device_holds_and_stops_a_refit(earmuff_home, capsys, paths):
    import subprocess

    from earmuff.cli.main import main

    cfg = config.load(paths.config)
    room_bank.add(paths, windows(5), limit=100)
    held = room_bank.collector(cfg, paths)
    feed(held, 0, 20, score=0.05)  # talk heard in the last minute: pending, some settled, none written yet
    feed(held, 20, 25, score=0.0, voice=False)
    assert not held.ready.empty() and held.pending
    device = SimpleNamespace(room=held)
    learning = RoomLearning(paths)
    learning.process = subprocess.Popen(["sleep", "60"])  # a refit that read the bank
    assert learning.forget(cfg, device) == 5
    assert learning.process.wait(5) != 0  # stopped
    learning.save(cfg, device)  # the supervisor's next write
    assert device.room is not held and room_bank.count(paths) == 0
    room_bank.add(paths, windows(3), limit=100)
    assert main(["wakeword", "forget-room"]) == 0  # no daemon running: the CLI deletes the bank itself
    assert "forgot the room bank (3 windows)" in capsys.readouterr().out and room_bank.count(paths) == 0
