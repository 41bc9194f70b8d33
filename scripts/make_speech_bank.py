#!/usr/bin/env python3
"""Make models/speech_bank.npz from Debian's recorded Asterisk prompts (five speakers, five languages, CC-BY-SA-3.0).

Needs `apt-get install asterisk-core-sounds-{en,es,fr,it,ru}-wav` (Debian main) only while it runs; the device
uses the file it writes. Deterministic: the same packages and code give the same frames.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "firmware"))

from earmuff.audio.files import read_audio  # noqa: E402
from earmuff.config import Config  # noqa: E402
from earmuff.wakeword.train import speech_bank  # noqa: E402

SOUNDS = Path("/usr/share/asterisk/sounds")
LANGUAGES = ("en", "es", "fr", "it", "ru")  # speakers: Allison (en, es), June (fr), Carlo (it), a Russian voice


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=REPO / "models" / "speech_bank.npz")
    args = ap.parse_args()
    clips = []
    for lang in LANGUAGES:
        files = sorted((SOUNDS / lang).rglob("*.wav"))
        if not files:
            print(
                f"no prompts in {SOUNDS / lang}: expected Debian's asterisk-core-sounds-{lang}-wav "
                f"(apt-get install asterisk-core-sounds-{lang}-wav)",
                file=sys.stderr,
            )
            return 1
        clips += [read_audio(f) for f in files]
        version = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", f"asterisk-core-sounds-{lang}-wav"], capture_output=True, text=True
        ).stdout
        print(f"asterisk-core-sounds-{lang}-wav {version}: {len(files)} prompts", file=sys.stderr)
    streams = speech_bank.build(clips, Config(), seed=0)
    speech_bank.save(args.out, streams)
    bank = speech_bank.load(args.out)
    print(
        f"{args.out.name}: {len(clips)} prompts, {len(streams)} streams, "
        f"{bank.held_hours:.2f} h of them held back for the threshold, "
        f"sha256 {hashlib.sha256(args.out.read_bytes()).hexdigest()}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
