"""Benchmark: a wake-word training inside a cgroup v1 memory cap and CPU quota, as on a Raspberry Pi Zero 2 W.

    nice .venv/bin/python bench/bench_train_memory.py [--cap-mb 300] [--cpus 2] [--stages] [-- set "hey bramble"]
    nice .venv/bin/python bench/bench_train_memory.py --home DIR --full-room-bank --stages -- wakeword refit

Runs `earmuff <command>` (default `wakeword set "hey bramble"`) with a private EARMUFF_HOME in a fresh memory
cgroup capped at --cap-mb (memory.limit_in_bytes; this machine has no swap) and a CPU cgroup with a quota of
--cpus cores (cpu.cfs_quota_us). Reports the cgroup's peak charge (memory.max_usage_in_bytes: resident memory of
every process in it plus the page cache they filled, which the kernel drops under the cap), the peak of the
summed proportional resident memory of the process tree (Pss of /proc/PID/smaps_rollup, sampled every 50 ms; a vfork
child before its exec counted once) and the cgroup's anonymous memory (sampled), the CPU time of the whole
cgroup (cpuacct.usage), wall time, the exit code and whether the kernel killed anything. With --stages, the peak
summed Pss, the cgroup's CPU time and the wall time within each progress-bar stage. Needs root and cgroup v1
(memory, cpu, cpuacct mounted).
A `refit` first needs a trained word in the home: pass --home DIR with --keep from an earlier `set` run;
--full-room-bank first fills that home's room bank to its configured maximum (outside the cgroup, not measured).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
LIBC = ctypes.CDLL(None, use_errno=True)
SYS_KCMP = {"x86_64": 312, "aarch64": 272, "armv7l": 378}.get(platform.machine())  # kcmp(2)'s number
KCMP_VM = 1
EARMUFF = [sys.executable, "-m", "earmuff"]
STAGE = re.compile(r"\r?([a-z][a-z ]+(?: \(\d/\d\))?)\s+\[")


def same_memory(a: int, b: int) -> bool:
    """Whether two processes share one address space (a vfork child before its exec): kcmp(2), KCMP_VM."""
    if SYS_KCMP is None:  # an architecture not listed: such a child is counted twice for a moment
        return False
    return LIBC.syscall(SYS_KCMP, a, b, KCMP_VM, 0, 0) == 0


def tree_pss_kb(pid: int) -> int:
    """Summed proportional resident memory (Pss) of `pid` and all its descendants, kB: each shared page counted
    once over the processes that share it (summed VmRSS counts a forked child's shared pages twice), and a child
    that still shares its parent's address space (vfork, until its exec) not counted again."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    total, todo = 0, [(pid, 0)]
    while todo:
        p, parent = todo.pop()
        todo += [(c, p) for c in children.get(p, [])]
        if parent and same_memory(p, parent):
            continue
        try:
            for line in open(f"/proc/{p}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def fill_room_bank(home: Path, seed: int = 7) -> tuple[int, int]:
    """Fill `home`'s room bank as a device would after long use: room talk to `room_bank_max` windows and the
    active name to the positive limit, from synthesized speech (espeak-ng, flite) in the jammed virtual room.

    Talk is windows of continuous streams of sentences, every other 80 ms step (the device keeps one every 2 s of
    voice and every near miss: denser here, the same kind of windows); the name is one window per saying, the word
    ending 0.25-0.45 s before it, as in training. Returns the numbers of room-talk and name windows banked.
    """
    import numpy as np

    from earmuff import config
    from earmuff.paths import Paths
    from earmuff.wakeword.registry import room_bank
    from earmuff.wakeword.train import augment, features, phrase, synth, words
    from earmuff.wakeword.train.windows import POS_WINDOWS, positive_windows

    paths = Paths.from_env({"EARMUFF_HOME": str(home)})
    cfg = config.load(paths.config)
    name, limit = cfg.wake.wake_word, cfg.wakeword.room_bank_max
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    fams = synth.families("en-us", ("espeak-ng", "flite"), phrase.languages())
    residual = augment.jamming_residual(cfg, 60.0, seed)
    positive = room_bank.positive_kind(name)
    while (have := room_bank.count(paths, positive)) < room_bank.POSITIVE_LIMIT:
        clips = synth.speak_all(synth.plan(name, "en-us", min(100, room_bank.POSITIVE_LIMIT - have), rng, fams))
        wins = positive_windows([c for c in clips if len(c)], 1, nrng, residual, lambda n: None)
        room_bank.add(paths, wins[POS_WINDOWS // 2 :: POS_WINDOWS], room_bank.POSITIVE_LIMIT, positive)
    while (have := room_bank.count(paths)) < limit:
        texts = words.sentences(40, rng, avoid=tuple(name.split()))
        clips = synth.speak_all([synth.plan(t, "en-us", 1, rng, fams)[0] for t in texts])
        frames = features.embed(augment.stream([c for c in clips if len(c)], nrng, residual))
        room_bank.add(paths, features.windows(frames, stride=2)[: limit - have], limit)
    return room_bank.count(paths), room_bank.count(paths, positive)


def cgroup_anon_kb(group: Path) -> int:
    """The cgroup's anonymous memory now (memory.stat `rss`): what the kernel cannot drop under the cap, kB."""
    for line in (group / "memory.stat").read_text().splitlines():
        if line.startswith("rss "):
            return int(line.split()[1]) // 1024
    return 0


def make_cgroups(name: str, cap_mb: int, cpus: float) -> dict[str, Path]:
    """Fresh memory, cpu and cpuacct cgroups called `name`, capped; returns their folders."""
    groups = {k: ROOT / k / name for k in ("memory", "cpu", "cpuacct")}
    for g in groups.values():
        g.mkdir(exist_ok=True)
    (groups["memory"] / "memory.limit_in_bytes").write_text(str(cap_mb * 1024 * 1024))
    (groups["cpu"] / "cpu.cfs_period_us").write_text("100000")
    (groups["cpu"] / "cpu.cfs_quota_us").write_text(str(int(cpus * 100000)))
    return groups


def remove_cgroups(groups: dict[str, Path]) -> None:
    for g in groups.values():
        for _ in range(50):
            try:
                g.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cap-mb", type=int, default=300, help="memory cap of the cgroup, MiB")
    ap.add_argument("--cpus", type=float, default=2.0, help="CPU quota, in cores of this machine")
    ap.add_argument("--home", help="EARMUFF_HOME to use (default: a fresh temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary home (to refit in it later)")
    ap.add_argument("--stages", action="store_true", help="peak summed Pss, CPU and wall time per progress-bar stage")
    ap.add_argument("--full-room-bank", action="store_true", help="fill the home's room bank first (for a refit)")
    ap.add_argument("command", nargs="*", default=["wakeword", "set", "hey bramble"])
    args = ap.parse_args()
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="earmuff-bench-"))
    if args.full_room_bank:
        talk, mine = fill_room_bank(home)
        print(f"room bank filled: {talk} windows of room talk, {mine} of the name", file=sys.stderr)
    groups = make_cgroups(f"earmuff-bench-{os.getpid()}", args.cap_mb, args.cpus)
    env = {**os.environ, "EARMUFF_HOME": str(home), "PYTHONUNBUFFERED": "1"}

    def enter() -> None:
        for g in groups.values():
            (g / "cgroup.procs").write_text(str(os.getpid()))

    started = time.monotonic()
    proc = subprocess.Popen(EARMUFF + args.command, env=env, preexec_fn=enter, stderr=subprocess.PIPE, text=True)
    peak, stage, stages = 0, "start", {}
    err: list[str] = []

    def read_stderr() -> None:
        nonlocal stage
        buf = ""
        while ch := proc.stderr.read(1):
            buf += ch
            if ch in "\r\n":
                sys.stderr.write(buf)
                err.append(buf)
                m = STAGE.match(buf)
                if m:
                    stage = m.group(1).strip()
                buf = ""

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    anon = 0
    usage = groups["cpuacct"] / "cpuacct.usage"
    cpu: dict[str, float] = {}  # CPU seconds of the cgroup and wall seconds per stage
    walls: dict[str, float] = {}
    last_cpu, last_wall = 0.0, time.monotonic()
    while proc.poll() is None:
        anon = max(anon, cgroup_anon_kb(groups["memory"]))
        rss = tree_pss_kb(proc.pid)
        peak = max(peak, rss)
        stages[stage] = max(stages.get(stage, 0), rss)
        now_cpu, now_wall = int(usage.read_text()) / 1e9, time.monotonic()
        cpu[stage] = cpu.get(stage, 0.0) + now_cpu - last_cpu
        walls[stage] = walls.get(stage, 0.0) + now_wall - last_wall
        last_cpu, last_wall = now_cpu, now_wall
        time.sleep(0.05)
    wall = time.monotonic() - started
    reader.join(5)
    mem = groups["memory"]
    max_usage = int((mem / "memory.max_usage_in_bytes").read_text()) // 1024
    failcnt = int((mem / "memory.failcnt").read_text())
    oom = dict(line.split() for line in (mem / "memory.oom_control").read_text().splitlines())
    cpu_s = int((groups["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
    remove_cgroups(groups)
    if not args.keep and not args.home:
        shutil.rmtree(home, ignore_errors=True)
    print(f"command: earmuff {' '.join(args.command)}")
    print(
        f"cap {args.cap_mb} MiB, quota {args.cpus} cores; exit {proc.returncode}; "
        f"oom kills {oom.get('oom_kill', '?')}; cap hits {failcnt}"
    )
    print(
        f"peak resident memory of the process tree (summed Pss): {peak} kB; cgroup peak charge (RSS + page cache): {max_usage} kB"
    )
    print(f"peak anonymous memory of the cgroup (memory.stat rss, sampled): {anon} kB")
    print(f"CPU time (cgroup): {cpu_s:.1f} s; wall {wall:.1f} s")
    if args.stages:
        for name, kb in stages.items():
            print(f"  {name:<24} peak {kb} kB, CPU {cpu.get(name, 0.0):.1f} s, wall {walls.get(name, 0.0):.1f} s")
    if args.keep:
        print(f"home kept: {home}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
