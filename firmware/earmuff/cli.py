"""The `earmuff` command line."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading
from pathlib import Path

from . import config as config_mod
from .audio_io import AudioFileError
from .config import ConfigError
from .detector import WakeWordError

log = logging.getLogger("earmuff")


def cmd_simulate(args: argparse.Namespace) -> int:
    """Run a scene in the virtual room."""
    from .demo import timeline_text
    from .scene import load_scene
    from .simulate import simulate, write_outputs

    result = simulate(load_scene(Path(args.scene)), config_mod.load())
    write_outputs(result, Path(args.out))
    print(timeline_text(result.events) or "  (no events)")
    print(f"wrote {args.out}/: echo_mic.wav device_mic.wav heard.wav speaker_out.wav events.jsonl summary.json")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Synthesize the built-in scene, run it, print the timeline, write WAVs and a PNG."""
    from .demo import plot, timeline_text, write_scene
    from .scene import load_scene
    from .simulate import simulate, write_outputs

    out = Path(args.out)
    print("earmuff demo: a guest says 'Alexa, what time is it?' at 1 s; at 6 s the owner says 'hey jarvis',")
    print("then 'what is the weather tomorrow', and the smart speaker answers. Synthesizing voices...")
    scene = load_scene(write_scene(out / "scene"))
    result = simulate(scene, config_mod.load())
    write_outputs(result, out)
    plot(result, out / "demo.png")
    print("Timeline (seconds of scene time):")
    print(timeline_text(result.events))
    print(f"Simulated {result.summary['duration_s']:.0f} s in {result.summary['wall_s']:.1f} s.")
    print(f"Listen: {out}/echo_mic.wav (the smart speaker), {out}/heard.wav (earmuff); look: {out}/demo.png")
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    """List sound devices."""
    from .audio_backend import describe_devices

    print(describe_devices())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the device on real sound devices until SIGINT or SIGTERM."""
    from .audio_backend import choose, start_stream
    from .device import Device, sleep_wait

    cfg = config_mod.load()
    audio = dataclasses.replace(
        cfg.audio,
        input=args.input if args.input is not None else cfg.audio.input,
        output=args.output if args.output is not None else cfg.audio.output,
    )
    cfg = dataclasses.replace(cfg, audio=audio)
    choice = choose(cfg.audio)

    def event(t: float, name: str, **fields: object) -> None:
        log.info("%.2f s %s %s", t, name, " ".join(f"{k}={v}" for k, v in fields.items()))

    device = Device(cfg, event, max_block=cfg.audio.block)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    wait = sleep_wait(cfg.audio.block / 16000 / 4)
    device.start_worker(wait)
    stream = start_stream(cfg.audio, choice, device.callback)
    restarts = 0
    try:
        log.info("jamming; listening for %r (input %d, output %d)", cfg.wake.wake_word, choice.input, choice.output)
        while not stop.wait(0.5):
            if device.worker is not None and not device.worker.is_alive():
                restarts += 1  # the noise never stopped: the callback kept playing it
                log.error("worker died (%r); restarting it (restart %d)", device.worker_error, restarts)
                device.start_worker(wait)
    finally:
        stream.close()
        device.stop_worker()
    log.info("stopped; counters %s", device.counters())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """All subcommands and their options."""
    p = argparse.ArgumentParser(prog="earmuff", description="Jam a smart speaker until its owner says a wake name.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("demo", help="play the built-in scene in the virtual room")
    s.add_argument("--out", default="demo-out", help="folder for the WAVs, events and PNG (default: demo-out)")
    s.set_defaults(func=cmd_demo)
    s = sub.add_parser("simulate", help="run a scene file in the virtual room")
    s.add_argument("scene", help="scene TOML file")
    s.add_argument("--out", required=True, help="folder for the results")
    s.set_defaults(func=cmd_simulate)
    s = sub.add_parser("run", help="run on real sound devices in the foreground")
    s.add_argument("--input", help="input device name or index")
    s.add_argument("--output", help="output device name or index")
    s.set_defaults(func=cmd_run)
    s = sub.add_parser("devices", help="list sound devices")
    s.set_defaults(func=cmd_devices)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a subcommand, turning expected errors into one clear line and exit code 2."""
    from .audio_backend import AudioDeviceError

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, WakeWordError, AudioFileError, AudioDeviceError) as exc:
        print(f"earmuff: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

