"""The `earmuff wakeword ...` commands: set, list, use, remove, import, test, add-samples, record, refit, forget-room.

Training commands are in `wakeword_train.py`, the ones that listen to the owner in `wakeword_record.py`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from earmuff import config as config_mod
from earmuff.cli.wakeword_record import cmd_add_samples, cmd_record, cmd_test
from earmuff.cli.wakeword_train import cmd_refit, cmd_set
from earmuff.paths import Paths
from earmuff.wake_name import WakeWordError, normalise


def add_wakeword_commands(sub) -> None:
    """Register `earmuff wakeword` and its subcommands on the top-level subparsers."""
    p = sub.add_parser("wakeword", help="train, choose and test wake words")
    ws = p.add_subparsers(dest="wakeword_command", required=True)
    s = ws.add_parser("set", help="train a wake word from a typed phrase and make it active")
    s.add_argument("phrase", help='the wake name, e.g. "hey bramble"')
    s.add_argument("--lang", default="en-us", help="espeak-ng language code (default en-us; see `espeak-ng --voices`)")
    s.add_argument("--seed", type=int, default=0, help="random seed for synthesis and training")
    s.add_argument(
        "--export",
        metavar="FILE",
        help="write the (full) model to FILE for `wakeword import` on another device, instead of installing it here",
    )
    s.set_defaults(func=cmd_set)
    s = ws.add_parser("list", help="installed wake words")
    s.set_defaults(func=cmd_list)
    s = ws.add_parser("use", help="make an installed wake word active")
    s.add_argument("name")
    s.set_defaults(func=cmd_use)
    s = ws.add_parser("remove", help="delete a trained wake word")
    s.add_argument("name")
    s.set_defaults(func=cmd_remove)
    s = ws.add_parser("import", help="install an openWakeWord model (.onnx or .tflite) made elsewhere")
    s.add_argument("model")
    s.add_argument("--name", help="its phrase (default: the file name)")
    s.set_defaults(func=cmd_import)
    s = ws.add_parser("test", help="score meter on the microphone, or on a file")
    s.add_argument("--file", help="a wav or flac file instead of the microphone")
    s.add_argument("--name", help="wake word to test (default: the active one)")
    s.add_argument("--seconds", type=float, default=30.0, help="how long to listen to the microphone")
    s.set_defaults(func=cmd_test)
    s = ws.add_parser("add-samples", help="add your own recordings of the name, then retrain")
    s.add_argument("files", nargs="+")
    s.add_argument("--name", help="wake word (default: the active one)")
    s.add_argument("--no-retrain", action="store_true", help="only check and keep the recordings")
    s.set_defaults(func=cmd_add_samples)
    s = ws.add_parser("record", help="record takes of the name through the device microphone, then retrain")
    s.add_argument("--takes", type=int, default=5)
    s.add_argument("--name", help="wake word (default: the active one)")
    s.add_argument("--no-retrain", action="store_true", help="only check and keep the takes")
    s.set_defaults(func=cmd_record)
    s = ws.add_parser("refit", help="retrain the active wake word with what it learnt of this room")
    s.add_argument("--quiet", action="store_true", help="no progress bars (the daemon runs it like this)")
    s.set_defaults(func=cmd_refit)
    s = ws.add_parser("forget-room", help="delete the room bank of household speech")
    s.set_defaults(func=cmd_forget_room)


def cmd_list(args: argparse.Namespace, paths: Paths) -> int:
    """Print installed and built-in wake words, marking the active one."""
    from earmuff.wakeword.registry import background, store

    current = normalise(store.active(paths))
    for name in store.names(paths):
        meta = store.info(paths, name)
        v = meta.get("validation", {})
        extra = f"recall {v['recall']:.0%} on validation" if v else "imported"
        extra += f", {meta['recipe']} model" if "recipe" in meta else ""
        print(
            f"{'*' if name == current else ' '} {name:<24} {meta.get('language', '?'):<6} {meta.get('created', '')}  {extra}"
        )
        line = background.describe(paths, name)
        if line:
            print(f"  {'':<24} {line}")
    for name in store.PRETRAINED:
        print(f"{'*' if name == current else ' '} {name:<24} built-in (openWakeWord, CC BY-NC-SA 4.0)")
    return 0


def cmd_use(args: argparse.Namespace, paths: Paths) -> int:
    """Make a wake word active."""
    from earmuff.service.control import ask_reload
    from earmuff.wakeword.registry import store

    store.activate(paths, args.name)
    print(f"'{store.active(paths)}' is now the wake word; {ask_reload(paths)}")
    return 0


def cmd_remove(args: argparse.Namespace, paths: Paths) -> int:
    """Delete a trained wake word, the owner's recordings of it and the windows of them saying it."""
    from earmuff.wakeword.registry import room_bank, samples, store

    name = normalise(args.name)
    kind = room_bank.positive_kind(name)
    if store.installed(paths, name):
        store.remove(paths, name)
        what = f"removed '{name}'"
    elif samples.count(paths, name) or room_bank.count(paths, kind):  # a name without a model: its recordings go
        what = f"'{name}' has no model; removed"
    else:
        raise WakeWordError(
            f"wake word '{name}': not installed and no recordings of it; expected one of {store.names(paths)}"
        )
    takes, windows = samples.forget(paths, name), room_bank.forget(paths, kind)
    print(f"{what}, {takes} recordings of your voice saying it and {windows} windows of the room bank")
    return 0


def cmd_import(args: argparse.Namespace, paths: Paths) -> int:
    """Install a model file."""
    from earmuff.wakeword.registry import store

    name = store.import_model(paths, Path(args.model), args.name)
    print(f"imported '{name}'; make it active with `earmuff wakeword use \"{name}\"`")
    return 0


def cmd_forget_room(args: argparse.Namespace, paths: Paths) -> int:
    """Delete the room bank; a running daemon also drops the windows it holds in memory."""
    from earmuff.service.control import ControlError, NotRunning, request, socket_path
    from earmuff.wakeword.registry import room_bank

    try:
        reply = request(socket_path(config_mod.load(paths.config), paths), "forget_room", timeout=20.0)
    except NotRunning:
        print(f"forgot the room bank ({room_bank.forget(paths)} windows)")
        return 0
    if not reply.get("ok"):
        raise ControlError(f"the running earmuff did not forget all of the room bank: {reply.get('error')}")
    print(reply["message"])
    return 0
