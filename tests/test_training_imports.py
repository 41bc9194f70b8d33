"""`earmuff wakeword set` and `refit`, and the training child they fork, import no scipy (50 MB resident on a Zero 2 W)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

# Runs the command; the training child writes the modules it holds once it has trained, the command its own after.
PROBE = (
    "import sys, json\n"
    "from earmuff.cli.main import main\n"
    "from earmuff.wakeword import retrain\n"
    "def third_party():\n"
    "    return sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names))\n"
    "inner = retrain._retrain\n"
    "def spy(*a, **kw):\n"
    "    meta = inner(*a, **kw)\n"
    "    open(sys.argv[1], 'w').write(json.dumps(third_party()))\n"
    "    return meta\n"
    "retrain._retrain = spy\n"
    "code = main(sys.argv[2:])\n"
    "print(json.dumps(third_party()))\n"
    "sys.exit(code)\n"
)
SMALL = "[wakeword]\npositives = 20\ncopies = 1\nnegative_sentences = 20\nhidden_units = 4\nrounds = 1\n"


def modules(home, *args):
    """Third-party top-level modules of the command and of its training child, after `earmuff ARGS` in `home`."""
    child = home / "child.json"
    env = {**os.environ, "EARMUFF_HOME": str(home)}
    r = subprocess.run([sys.executable, "-c", PROBE, str(child), *args], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return set(json.loads(r.stdout.strip().splitlines()[-1])), set(json.loads(child.read_text()))


@pytest.mark.training
@pytest.mark.tools("espeak-ng", "flite")
def test_set_and_a_refit_with_the_room_bank_import_no_scipy(earmuff_home, paths):
    from earmuff.wakeword.registry import room_bank

    (earmuff_home / "config.toml").write_text(SMALL)
    command, child = modules(earmuff_home, "wakeword", "set", "hey bramble")
    assert {"numpy", "onnxruntime"} <= child  # it trained: features were embedded in the child
    for found in (command, child):
        assert not found & {"scipy", "sklearn"}, found
    room_bank.add(paths, np.random.default_rng(0).standard_normal((40, 16, 96)).astype(np.float16), 1000)
    command, child = modules(earmuff_home, "wakeword", "refit")  # the better model (every voice family) and the bank
    assert {"numpy", "onnxruntime"} <= child
    for found in (command, child):
        assert not found & {"scipy", "sklearn"}, found


@pytest.mark.unit
def test_an_installed_model_is_checked_against_the_network_it_was_made_from(paths):
    from earmuff.wake_name import WakeWordError
    from earmuff.wakeword.registry import store
    from earmuff.wakeword.registry.export import to_onnx
    from earmuff.wakeword.registry.publish import check_export
    from wakewordlib import tiny_model

    path = store.new_version(paths, "hey bramble") / store.MODEL
    to_onnx(tiny_model(1), path, "hey bramble")
    check_export(path, tiny_model(1))
    with pytest.raises(WakeWordError, match="differ from the trained network's"):
        check_export(path, tiny_model(2))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(WakeWordError, match="cannot be loaded") as err:
        check_export(path, tiny_model(1))
    assert str(err.value).count(str(path)) == 1, err.value  # the file named once, not once per layer
