#!/usr/bin/env bash
# Install everything earmuff needs on Debian 12 / Raspberry Pi OS Bookworm: apt packages, .venv, the package.
# Idempotent: a second run changes nothing. Usage: scripts/setup.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/voices.sh
. scripts/voices.sh
apt_packages=(python3 python3-venv python3-pip espeak-ng flite sox libsox-fmt-all libportaudio2 libsndfile1
    "${voice_packages[@]}" "${mbrola_packages[@]}")
extras="."
if [ "${1:-}" = "--test" ]; then
    # A PulseAudio null sink is the real-time audio device of the tests; openscad renders the enclosure,
    # prusa-slicer gives its print times (scripts/render_enclosure.sh). systemd-analyze checks the unit
    # offline, shellcheck the scripts, strace proves no network socket opens.
    apt_packages+=(pulseaudio pulseaudio-utils libasound2-plugins openscad xvfb prusa-slicer systemd shellcheck strace sudo)
    extras=".[test]"
fi

missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    enable_contrib_non_free "$sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e "$extras"
