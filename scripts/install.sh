#!/usr/bin/env bash
# Install earmuff as a service on Raspberry Pi OS Bookworm: apt packages, user and group earmuff,
# a venv under /opt/earmuff, the systemd units (earmuff.service: the noise; earmuff-standby.service: a second
# noise process ready to take over; earmuff-listener.service: the wake word, control socket, button and
# light), enabled and started; `earmuff` on PATH (/usr/local/bin). Safe to run again: an upgrade restarts only
# the listener, so the noise never stops.
# Usage: sudo scripts/install.sh [--dry-run] [--no-mbrola] [--uninstall [--purge]]
#   --dry-run    print every action and change nothing
#   --no-mbrola  leave out the MBROLA training voices (they may not be sold or built into a sold product)
#   --uninstall  remove the service, /opt/earmuff, /usr/local/bin/earmuff, the user, the groups and /etc/sudoers.d/earmuff; keep /etc/earmuff and the
#                owner's trained wake words in /var/lib/earmuff
#   --purge      with --uninstall: remove /etc/earmuff and /var/lib/earmuff too
set -euo pipefail

src="$(cd "$(dirname "$0")/.." && pwd)"
prefix=/opt/earmuff
units_dir=/etc/systemd/system
bin_link=/usr/local/bin/earmuff  # the command on PATH
sudoers=/etc/sudoers.d/earmuff
units=(earmuff.service earmuff-standby.service earmuff-listener.service)
# shellcheck source=scripts/voices.sh
. "$src/scripts/voices.sh"
# espeak-ng, flite, sox and the voice packages: `earmuff wakeword set` trains with them on the device; sudo lets
# members of earmuff-admin run earmuff's commands as the service's user (systemd/earmuff-admin.sudoers).
apt_packages=(python3 python3-venv python3-pip libportaudio2 libsndfile1 alsa-utils espeak-ng flite sox sudo
    "${voice_packages[@]}")
dry_run=0 uninstall=0 purge=0 mbrola=1

for arg in "$@"; do
    case "$arg" in
        --dry-run) dry_run=1 ;;
        --uninstall) uninstall=1 ;;
        --purge) purge=1 ;;
        --no-mbrola) mbrola=0 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option '$arg'; expected --dry-run, --no-mbrola, --uninstall or --purge" >&2; exit 2 ;;
    esac
done
if [ "$mbrola" -eq 1 ]; then apt_packages+=("${mbrola_packages[@]}"); fi
if [ "$purge" -eq 1 ] && [ "$uninstall" -eq 0 ]; then
    echo "install.sh: --purge only goes with --uninstall" >&2; exit 2
fi
if [ "$dry_run" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: must run as root (sudo scripts/install.sh); try --dry-run to see what it would do" >&2; exit 1
fi

# Print an action; run it unless this is a dry run.
act() {
    echo "+ $*"
    if [ "$dry_run" -eq 0 ]; then "$@"; fi
}

has_systemd() { [ -d /run/systemd/system ]; }

install_all() {
    local missing=() p g groups=""
    for p in "${apt_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        enable_contrib_non_free act
        act apt-get update -qq
        act env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
        echo "= apt packages already installed: ${apt_packages[*]}"
    fi
    getent group earmuff >/dev/null || act groupadd --system earmuff
    # The unit names these in SupplementaryGroups=; systemd refuses to start it if one is missing.
    for g in audio gpio spi; do
        getent group "$g" >/dev/null || act groupadd --system "$g"
        groups="${groups:+$groups,}$g"
    done
    if ! id earmuff >/dev/null 2>&1; then
        act useradd --system --gid earmuff --home-dir /var/lib/earmuff --no-create-home \
            --shell /usr/sbin/nologin ${groups:+--groups "$groups"} earmuff
    elif [ -n "$groups" ]; then
        act usermod --append --groups "$groups" earmuff
    fi
    act rm -rf "$prefix/src" "$prefix/models"
    act install -d -m 0755 "$prefix" "$prefix/src"
    act cp -r "$src/pyproject.toml" "$src/README.md" "$src/firmware" "$prefix/src/"
    act cp -r "$src/models" "$prefix/models"  # the trigger phrases, found beside the venv (firmware/earmuff/audio/files.py)
    [ -x "$prefix/venv/bin/python" ] || act python3 -m venv "$prefix/venv"
    act "$prefix/venv/bin/python" -m pip install -q --upgrade pip
    local extra=""
    grep -q "Raspberry Pi" /proc/device-tree/model 2>/dev/null && extra="[pi]"
    act "$prefix/venv/bin/python" -m pip install -q "$prefix/src$extra"
    # One owner of the files: the service's user. `sudo earmuff ...` acts as that user too
    # (firmware/earmuff/cli/service_user.py); an older install left root-owned files here that the service could not
    # read. -h: a link the service's user planted here changes owner itself, never what it points to (/etc/shadow).
    act install -d -m 0750 -o earmuff -g earmuff /etc/earmuff /var/lib/earmuff
    act chown -hR earmuff:earmuff /etc/earmuff /var/lib/earmuff
    act ln -sfn "$prefix/venv/bin/earmuff" "$bin_link"
    getent group earmuff-admin >/dev/null || act groupadd --system earmuff-admin
    install_sudoers "$prefix/venv/bin/python"
    local u
    for u in "${units[@]}"; do act install -m 0644 "$src/systemd/$u" "$units_dir/$u"; done
    if has_systemd; then
        act systemctl daemon-reload
        act systemctl enable earmuff.service
        if systemctl is-active --quiet earmuff.service; then
            # An upgrade: the new listener attaches to the running noise process, which keeps jamming (the noise
            # processes run the new version from the next `systemctl restart earmuff` or boot).
            act systemctl restart earmuff-listener.service
        else
            act systemctl start earmuff.service
        fi
    else
        echo "= systemd is not running here: enable and start later with: systemctl enable --now earmuff"
    fi
    overlay_notes
}

# The admin group's rule for this python, checked by visudo before it is put in place (a broken sudoers file
# would lock out sudo).
install_sudoers() {
    local tmp
    tmp="$(mktemp)"
    sed "s|@PYTHON@|$1|" "$src/systemd/earmuff-admin.sudoers" >"$tmp"
    act visudo -cqf "$tmp"
    act install -m 0440 -o root -g root "$tmp" "$sudoers"
    rm -f "$tmp"
}

overlay_notes() {
    local boot=/boot/firmware/config.txt
    [ -f "$boot" ] || boot=/boot/config.txt
    if [ -f "$boot" ] && grep -q "^dtoverlay=wm8960-soundcard" "$boot" && grep -q "^dtparam=spi=on" "$boot"; then
        echo "= $boot already has dtoverlay=wm8960-soundcard and dtparam=spi=on"
        return
    fi
    cat <<EOF
NOTE: for the ReSpeaker 2-Mics Pi HAT v1 (WM8960), $boot needs these two lines (see docs/hardware.md),
      then a reboot; this script does not edit boot files:
          dtoverlay=wm8960-soundcard
          dtparam=spi=on
      Check with: aplay -l   (a card named wm8960soundcard)
EOF
}

uninstall_all() {
    if has_systemd; then
        act systemctl disable --now earmuff.service || true
    fi
    for u in "${units[@]}"; do act rm -f "$units_dir/$u"; done
    if [ "$(readlink "$bin_link" 2>/dev/null)" = "$prefix/venv/bin/earmuff" ]; then act rm -f "$bin_link"; fi
    act rm -f "$sudoers"
    if has_systemd; then act systemctl daemon-reload; fi
    act rm -rf "$prefix"
    if [ "$purge" -eq 1 ]; then
        act rm -rf /etc/earmuff /var/lib/earmuff
    else
        echo "= kept /etc/earmuff and /var/lib/earmuff (your config and trained wake words); --purge removes them"
    fi
    if id earmuff >/dev/null 2>&1; then act userdel earmuff; fi
    if getent group earmuff >/dev/null; then act groupdel earmuff; fi
    if getent group earmuff-admin >/dev/null; then act groupdel earmuff-admin; fi
}

if [ "$uninstall" -eq 1 ]; then uninstall_all; else install_all; fi
