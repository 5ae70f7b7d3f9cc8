"""The till SDK (sdk/pyproject.toml: pos_adapter.client alone) imports and installs without Flask.

The fast tests check the import graph in a subprocess of this venv with Flask blocked; the slow
ones build the wheel from a copy of sdk/ and pos_adapter/ (so nothing lands in the checkout),
check what it holds, and install it with its real dependencies into a fresh venv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from pos_adapter import client, openapi

ROOT = Path(__file__).resolve().parents[2]
SDK_FILES = {"pos_adapter/__init__.py", "pos_adapter/client.py"}
PIP_TIMEOUT = 240


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


def test_client_imports_without_flask_or_gateway(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['flask'] = None  # any `import flask` now raises ImportError\n"
        "import pos_adapter.client\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'gateway', 'passes'}\n"
        "               or m in {'pos_adapter.openapi', 'pos_adapter.api', 'pos_adapter.docs'})\n"
        "assert not heavy, heavy\n"
        "print(pos_adapter.client.PosClient.__name__)\n"
    )
    result = _run([sys.executable, "-c", code], cwd=ROOT)
    assert result.stdout.strip() == "PosClient"


def test_client_constants_match_the_published_document() -> None:
    assert client.BASE_PATH == openapi.BASE_PATH
    assert client.IDEMPOTENCY_HEADER == openapi.IDEMPOTENCY_HEADER


@pytest.fixture(scope="module")
def sdk_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SDK wheel, built by pip from a copy of sdk/ and the whole pos_adapter/ folder."""
    work = tmp_path_factory.mktemp("sdk-build")
    (work / "sdk").mkdir()
    shutil.copy2(ROOT / "sdk" / "pyproject.toml", work / "sdk" / "pyproject.toml")
    shutil.copytree(
        ROOT / "pos_adapter", work / "pos_adapter", ignore=shutil.ignore_patterns("__pycache__")
    )
    dist = work / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(dist), "./sdk"],
        cwd=work,
    )
    wheels = list(dist.glob("wallet_gateway_pos_client-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.mark.slow
def test_sdk_wheel_holds_only_the_client(sdk_wheel: Path) -> None:
    with zipfile.ZipFile(sdk_wheel) as wheel:
        names = wheel.namelist()
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(wheel.read(metadata_name).decode())
    assert {n for n in names if ".dist-info/" not in n} == SDK_FILES
    assert metadata["Name"] == "wallet-gateway-pos-client"
    assert metadata.get_all("Requires-Dist") == ["requests>=2.32"]


@pytest.mark.slow
def test_sdk_installs_into_a_fresh_venv_without_flask(
    sdk_wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", str(sdk_wheel)], cwd=tmp_path)
    code = (
        "import importlib.util, sys\n"
        "import pos_adapter.client\n"
        "assert 'flask' not in sys.modules\n"
        "assert importlib.util.find_spec('flask') is None, 'flask got installed'\n"
        "assert importlib.util.find_spec('gateway') is None, 'gateway is importable'\n"
        "print(pos_adapter.client.__file__)\n"
    )
    run_dir = tmp_path / "run"  # `-c` puts the cwd on sys.path: keep the checkout off it
    run_dir.mkdir()
    result = _run([str(python), "-c", code], cwd=run_dir)
    assert Path(result.stdout.strip()).is_relative_to(venv)
