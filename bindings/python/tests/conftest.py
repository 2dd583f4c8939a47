"""Fixtures: the WAT test guests assembled with wat2wasm into a temp folder."""
import shutil
import subprocess
from pathlib import Path

import pytest

from yaowasm import Runtime

# The WAT test guest shared by the Python and Go bindings.
GUESTS = Path(__file__).resolve().parents[2] / "testdata"


def assemble(wat: Path, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["wat2wasm", str(wat), "-o", str(out)], check=True)
    return out


@pytest.fixture(scope="session")
def testmod(tmp_path_factory) -> Path:
    if not shutil.which("wat2wasm"):
        pytest.fail("wat2wasm (wabt) is required: run scripts/setup.sh")
    return assemble(GUESTS / "testmod.wat", tmp_path_factory.mktemp("wasm") / "testmod.wasm")


@pytest.fixture
def scripts(tmp_path, testmod) -> Path:
    """A scripts folder: a/t.wasm (script a.t) and b.wasm (script b)."""
    root = tmp_path / "scripts"
    (root / "a").mkdir(parents=True)
    shutil.copy(testmod, root / "a" / "t.wasm")
    shutil.copy(testmod, root / "b.wasm")
    return root


@pytest.fixture
def rt(scripts):
    with Runtime({"timeout_ms": 2000}) as runtime:
        assert runtime.load_dir(scripts) == 2
        yield runtime
