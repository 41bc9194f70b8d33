"""Benchmark: a wake-word training inside a cgroup v1 memory cap and CPU quota, as on a Raspberry Pi Zero 2 W.

    nice .venv/bin/python bench/bench_train_memory.py [--cap-mb 300] [--cpus 2] [--stages] [-- set "hey bramble"]

Runs `earmuff <command>` (default `wakeword set "hey bramble"`) with a private EARMUFF_HOME in a fresh memory
cgroup capped at --cap-mb (memory.limit_in_bytes; this machine has no swap) and a CPU cgroup with a quota of
--cpus cores (cpu.cfs_quota_us). Reports the cgroup's peak charge (memory.max_usage_in_bytes: resident memory of
every process in it plus the page cache they filled, which the kernel drops under the cap), the peak of the
summed proportional resident memory of the process tree (Pss of /proc/PID/smaps_rollup, sampled every 50 ms), the CPU time of the whole
cgroup (cpuacct.usage), wall time, the exit code and whether the kernel killed anything. With --stages, the peak
summed Pss within each progress-bar stage. Needs root and cgroup v1 (memory, cpu, cpuacct mounted).
A `refit` first needs a trained word in the home: pass --home DIR with --keep from an earlier `set` run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
EARMUFF = [sys.executable, "-m", "earmuff"]
STAGE = re.compile(r"\r?([a-z][a-z ]+(?: \(\d/\d\))?)\s+\[")


def tree_pss_kb(pid: int) -> int:
    """Summed proportional resident memory (Pss) of `pid` and all its descendants, kB: each shared page counted
    once over the processes that share it (summed VmRSS counts a forked child's shared pages twice)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            for line in open(f"/proc/{p}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


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
    ap.add_argument("--stages", action="store_true", help="peak summed Pss per progress-bar stage")
    ap.add_argument("command", nargs="*", default=["wakeword", "set", "hey bramble"])
    args = ap.parse_args()
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="earmuff-bench-"))
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
    while proc.poll() is None:
        rss = tree_pss_kb(proc.pid)
        peak = max(peak, rss)
        stages[stage] = max(stages.get(stage, 0), rss)
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
    print(f"CPU time (cgroup): {cpu_s:.1f} s; wall {wall:.1f} s")
    if args.stages:
        for name, kb in stages.items():
            print(f"  {name:<24} peak {kb} kB")
    if args.keep:
        print(f"home kept: {home}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
