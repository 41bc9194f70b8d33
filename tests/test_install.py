"""scripts/install.sh: shellcheck clean; its dry run lists every action and changes nothing."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SCRIPT = Path(__file__).parent.parent / "scripts" / "install.sh"


def dry(*args):
    return subprocess.run([str(SCRIPT), "--dry-run", *args], capture_output=True, text=True, timeout=60)


def test_shellcheck_clean():
    assert shutil.which("shellcheck"), "shellcheck is not installed (scripts/setup.sh --test installs it)"
    scripts = ["scripts/install.sh", "scripts/setup.sh", "scripts/voices.sh"]
    r = subprocess.run(["shellcheck", "-x", *scripts], capture_output=True, text=True, cwd=SCRIPT.parents[1])
    assert r.returncode == 0, r.stdout


def test_dry_run_lists_the_install_and_changes_nothing():
    before = {
        p: os.path.exists(p)
        for p in ("/opt/earmuff", "/etc/earmuff", "/var/lib/earmuff", "/etc/systemd/system/earmuff.service")
    }
    r = dry()
    assert r.returncode == 0, r.stderr
    actions = [line[2:] for line in r.stdout.splitlines() if line.startswith("+ ")]
    text = "\n".join(actions)
    assert "python3 -m venv /opt/earmuff/venv" in text or os.path.exists("/opt/earmuff/venv/bin/python")
    for part in (
        "/opt/earmuff/venv/bin/python -m pip install -q /opt/earmuff/src",
        "install -d -m 0750 -o earmuff -g earmuff /etc/earmuff /var/lib/earmuff",
        "chown -hR earmuff:earmuff /etc/earmuff /var/lib/earmuff",
        "ln -sfn /opt/earmuff/venv/bin/earmuff /usr/local/bin/earmuff",
        "install -m 0644",
        "/etc/systemd/system/earmuff.service",
        "/etc/systemd/system/earmuff-standby.service",
        "/etc/systemd/system/earmuff-listener.service",
        "/models /opt/earmuff/models",  # the trigger phrases beside the venv
        "visudo -cqf",  # the admin group's rule, checked before it is put in place
        "/etc/sudoers.d/earmuff",
    ):
        assert part in text, r.stdout
    if subprocess.run(["id", "earmuff"], capture_output=True).returncode != 0:
        assert "useradd --system --gid earmuff" in text and "--shell /usr/sbin/nologin" in text
    assert "dtoverlay=wm8960-soundcard" in r.stdout  # the overlay note, unless the boot config has it
    # What `earmuff wakeword set` trains with on the device: the synthesizers, sox and every voice of scripts/voices.sh.
    packages = next(
        l for l in r.stdout.splitlines() if "apt packages already installed" in l or "apt-get install" in l
    ).split()
    voices = (SCRIPT.parent / "voices.sh").read_text()
    listed = re.findall(r"^(?:voice|mbrola)_packages\+?=\(([^)]*)\)", voices, re.M)
    for p in ["espeak-ng", "flite", "sox", "sudo", *" ".join(listed).split()]:
        assert p in packages, (p, r.stdout)
    assert before == {p: os.path.exists(p) for p in before}


def test_uninstall_keeps_models_unless_purge():
    keep = dry("--uninstall")
    assert keep.returncode == 0
    assert "rm -rf /opt/earmuff" in keep.stdout and "rm -f /etc/systemd/system/earmuff-standby.service" in keep.stdout
    assert "/var/lib/earmuff" not in "".join(l for l in keep.stdout.splitlines() if l.startswith("+ "))
    assert "kept /etc/earmuff and /var/lib/earmuff" in keep.stdout
    purge = dry("--uninstall", "--purge")
    assert "+ rm -rf /etc/earmuff /var/lib/earmuff" in purge.stdout


def test_bad_options_are_named():
    r = subprocess.run([str(SCRIPT), "--frobnicate"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown option '--frobnicate'" in r.stderr
    r = subprocess.run([str(SCRIPT), "--purge", "--dry-run"], capture_output=True, text=True)
    assert r.returncode == 2 and "--purge only goes with --uninstall" in r.stderr


def test_an_installed_package_finds_the_trigger_phrases_and_the_speech_bank(tmp_path):
    """Installed as install.sh does it (the package in a venv's site-packages, models/ copied beside the venv), far
    from any checkout: earmuff still has the phrase it says into the smart speaker and the speech it trains against."""
    root = SCRIPT.parents[1]
    venv = tmp_path / "opt" / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    shutil.copytree(root / "firmware" / "earmuff", tmp_path / "site" / "earmuff")
    shutil.copytree(root / "models", tmp_path / "opt" / "models")
    deps = [p for p in sys.path if p.endswith("site-packages")]  # numpy and the rest, from the test's venv
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), *deps]))
    code = (
        "from earmuff.audio.files import models_dir, trigger_audio; from earmuff.wakeword.train import speech_bank; "
        "print(models_dir(), len(trigger_audio('alexa')), speech_bank.load(speech_bank.default_path()).held_hours)"
    )
    r = subprocess.run(
        [str(venv / "bin" / "python"), "-P", "-c", code], capture_output=True, text=True, env=env, cwd="/"
    )
    assert r.returncode == 0, r.stderr
    where, samples, hours = r.stdout.split()
    assert where == str(tmp_path / "opt" / "models") and int(samples) > 8000 and float(hours) > 1.0, r.stdout
