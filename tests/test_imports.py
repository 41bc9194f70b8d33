"""Each command imports only what it uses: the noise process numpy and sounddevice, the small commands no numpy."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

PROBE = (
    "import sys, json\n"
    "from earmuff.cli.main import main\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "except SystemExit:\n"
    "    pass\n"
    "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names))))\n"
)


def third_party(*args: str) -> set[str]:
    """Top-level modules outside the standard library that `earmuff ARGS` imported (no daemon runs)."""
    r = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    return set(json.loads(r.stdout.strip().splitlines()[-1])) - {"earmuff", "__main__", "_distutils_hack"}


def test_small_commands_import_nothing_heavy():
    for args in (["--help"], ["status"], ["pause"], ["resume"], ["reload"]):
        assert third_party(*args) == set(), args  # each fails with "not running", having imported nothing else


def test_the_audio_process_imports_numpy_and_sounddevice_only():
    code = (
        "import sys, json\nimport earmuff.cli.main, earmuff.service.audio_process, earmuff.service.audio_backend\n"
        "from earmuff.service.audio_process import AudioProcess\nimport sounddevice\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names))))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    found = set(json.loads(r.stdout)) - {"earmuff", "__main__", "_distutils_hack"}
    # numpy's and sounddevice's own compiled parts: _cffi_backend, _sounddevice, numpy's cython runtime
    assert {m for m in found if not m.startswith("_") and m != "cython_runtime"} == {"numpy", "sounddevice"}, found


def test_the_listener_with_a_wake_word_loaded_imports_no_scipy_and_no_training_library():
    # openWakeWord's package imports scikit-learn and scipy (about 90 MB here): the detector runs its models alone.
    code = (
        "import sys, json\nimport numpy as np\nimport earmuff.service.listener, earmuff.service.daemon\n"
        "from earmuff.config import WakeConfig\nfrom earmuff.paths import Paths\n"
        "from earmuff.wakeword.registry import store\n"
        "det = store.detector(Paths.from_env(), 'hey jarvis', WakeConfig())\n"
        "det.process(np.zeros(1280, np.float32), 1280)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names))))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    found = set(json.loads(r.stdout.strip().splitlines()[-1]))
    assert "tflite_runtime" in found  # the wake word was loaded and scored
    assert not found & {"scipy", "sklearn", "openwakeword", "livekit", "soundfile"}, found
