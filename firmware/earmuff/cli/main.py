"""The `earmuff` command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from earmuff import config as config_mod
from earmuff.cli.service_user import ADMIN_GROUP, SERVICE_USER, become_service_user
from earmuff.config import ConfigError
from earmuff.paths import Paths, user_name

log = logging.getLogger("earmuff")

# Errors that end a command with one clear line (exit code 2). Each command imports only what it uses, so a
# class whose module was never imported cannot have been raised: it is looked up only if it is loaded.
EXPECTED = (
    ("earmuff.config", "ConfigError"),
    ("earmuff.wake_name", "WakeWordError"),
    ("earmuff.audio.files", "AudioFileError"),
    ("earmuff.service.audio_backend", "AudioDeviceError"),
    ("earmuff.service.control", "ControlError"),
    ("earmuff.runtime.shared", "Busy"),
    ("earmuff.runtime.shared", "AttachError"),
)


def cmd_simulate(args: argparse.Namespace, paths: Paths) -> int:
    """Run a scene in the virtual room."""
    from earmuff.sim.demo import timeline_text
    from earmuff.sim.scene import load_scene
    from earmuff.sim.simulate import simulate, write_outputs

    result = simulate(load_scene(Path(args.scene)), config_mod.load(paths.config))
    write_outputs(result, Path(args.out))
    print(timeline_text(result.events) or "  (no events)")
    print(f"wrote {args.out}/: echo_mic.wav device_mic.wav heard.wav speaker_out.wav events.jsonl summary.json")
    return 0


def cmd_demo(args: argparse.Namespace, paths: Paths) -> int:
    """Synthesize the built-in scene, run it, print the timeline, write WAVs and a PNG."""
    from earmuff.sim.demo import plot, timeline_text, write_scene
    from earmuff.sim.scene import load_scene
    from earmuff.sim.simulate import simulate, write_outputs

    out = Path(args.out)
    print("earmuff demo: a guest says 'Alexa, what time is it?' at 1 s; at 6 s the owner says 'hey jarvis, what is")
    print("the weather tomorrow' in one breath, and the smart speaker answers. Synthesizing voices...")
    scene = load_scene(write_scene(out / "scene"))
    result = simulate(scene, config_mod.load(paths.config))
    write_outputs(result, out)
    plot(result, out / "demo.png")
    print("Timeline (seconds of scene time):")
    print(timeline_text(result.events))
    print(f"Simulated {result.summary['duration_s']:.0f} s in {result.summary['wall_s']:.1f} s.")
    print(f"Listen: {out}/echo_mic.wav (the smart speaker), {out}/heard.wav (earmuff); look: {out}/demo.png")
    return 0


def cmd_calibrate(args: argparse.Namespace, paths: Paths) -> int:
    """Measure delay, drift, coupling, echo reduction and the room floor; store them; set the voice threshold."""
    from earmuff.audio.room import Acoustics
    from earmuff.service import calibrate
    from earmuff.sim.scene import load_scene

    cfg = config_mod.load(paths.config)
    print(
        f"calibrating for {calibrate.SECONDS:.0f} s: earmuff plays its noise and listens (the smart speaker stays jammed)"
    )
    if args.virtual:
        acoustics = load_scene(Path(args.scene)).acoustics if args.scene else Acoustics()
        mic, played = calibrate.record_virtual(cfg, acoustics)
    else:
        mic, played = calibrate.record_real(cfg)
    result = calibrate.measure(mic, played)
    report = calibrate.save(result, paths)
    print(calibrate.report_text(result))
    print(f"stored in {report} and {paths.config}")
    return 0


def cmd_devices(args: argparse.Namespace, paths: Paths) -> int:
    """List sound devices."""
    from earmuff.service.audio_backend import describe_devices

    print(describe_devices())
    return 0


def cmd_run(args: argparse.Namespace, paths: Paths) -> int:
    """Run the device on real sound devices, audio process and listener, until SIGINT or SIGTERM."""
    from earmuff.service.daemon import run

    return run(paths, args.input, args.output)


def cmd_audio(args: argparse.Namespace, paths: Paths) -> int:
    """The audio process alone (earmuff.service): the noise, the gate and the shared memory."""
    from earmuff.service.audio_process import main as audio_main

    return audio_main(paths, args.input, args.output, args.standby)


def cmd_listen(args: argparse.Namespace, paths: Paths) -> int:
    """The listener alone (earmuff-listener.service): attaches to the running audio process."""
    from earmuff.service.daemon import listen

    return listen(paths)


def cmd_control(args: argparse.Namespace, paths: Paths) -> int:
    """Ask the running daemon: status, pause, resume or reload."""
    from earmuff.service.control import request, socket_path

    fields = {"minutes": args.minutes} if getattr(args, "minutes", None) is not None else {}
    try:
        cfg = config_mod.load(paths.config)
    except (ConfigError, OSError):  # OSError: the admin group may not read /etc/earmuff, only ask the service
        cfg = config_mod.Config()  # only the socket path is needed; the daemon reports the config's state
    reply = request(socket_path(cfg, paths), args.command, **fields)
    if not reply.get("ok"):
        print(f"earmuff {args.command}: {reply.get('error', reply)}", file=sys.stderr)
        return 1
    if args.command == "status":
        for key, value in reply.items():
            if key != "ok" and value is not None:
                print(f"{key.replace('_', ' ')}: {value}")
    else:
        print(reply.get("message", "ok"))
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
    s = sub.add_parser("audio", help="only the process that plays the noise (earmuff.service runs it)")
    s.add_argument("--input", help="input device name or index")
    s.add_argument("--output", help="output device name or index")
    s.add_argument(
        "--standby",
        action="store_true",
        help="if one plays already, wait ready to take over the moment it dies (instead of refusing)",
    )
    s.set_defaults(func=cmd_audio)
    s = sub.add_parser(
        "listen", help="only the listener, attached to the running audio process (earmuff-listener.service)"
    )
    s.set_defaults(func=cmd_listen)
    s = sub.add_parser("devices", help="list sound devices")
    s.set_defaults(func=cmd_devices)
    s = sub.add_parser("calibrate", help="measure the speakers-to-microphone path and set levels")
    s.add_argument("--virtual", action="store_true", help="measure the virtual room's simulated path instead")
    s.add_argument("--scene", help="with --virtual: take [acoustics] from this scene file")
    s.set_defaults(func=cmd_calibrate)
    s = sub.add_parser("status", help="what the running daemon is doing")
    s.set_defaults(func=cmd_control)
    s = sub.add_parser("pause", help="stop jamming for a while (the noise returns by itself)")
    s.add_argument("--minutes", type=float, help="how long, at most 60 (default: [pause] default_minutes, 10)")
    s.set_defaults(func=cmd_control)
    s = sub.add_parser("resume", help="end a pause: jam again now")
    s.set_defaults(func=cmd_control)
    s = sub.add_parser("reload", help="re-read the config file (a bad file keeps the running config)")
    s.set_defaults(func=cmd_control)
    from earmuff.cli.wakeword import add_wakeword_commands

    add_wakeword_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a subcommand, turning expected errors into one clear line and exit code 2."""
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"  # onnxruntime's telemetry; see service/listener.py
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    paths = Paths.from_env()
    try:
        become_service_user(args.command, argv, paths)
        return args.func(args, paths)
    except KeyboardInterrupt:
        return 130
    except PermissionError as exc:
        who = user_name()
        expected = (
            f"expected it to belong to '{SERVICE_USER}' (scripts/install.sh gives the service its files)"
            if who == SERVICE_USER
            else f"expected root or a member of {ADMIN_GROUP} (sudo earmuff ..., or earmuff ... as a member: both act as "
            f"the service's user '{SERVICE_USER}') or that user"
        )
        print(f"earmuff: error: {exc.filename or exc}: permission denied for user {who}; {expected}", file=sys.stderr)
        return 2
    except Exception as exc:
        # OSError: a full disk, a missing program: the file and the reason, not a traceback
        if isinstance(exc, OSError) or any(
            isinstance(exc, getattr(sys.modules[m], name)) for m, name in EXPECTED if m in sys.modules
        ):
            print(f"earmuff: error: {exc}", file=sys.stderr)
            return 2
        raise
