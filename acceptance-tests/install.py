"""Install the connectors as their Docker images do (pip install of each connector folder, nothing editable).

Each connector folder installs on its own: the shared client is a symlink inside it (`salesforce_api`), built into
the connector's distribution. The quick install (the default) builds a fresh virtualenv outside the repository whose
third-party dependencies come from the project's own environment through a `.pth` line (the same pinned versions),
and pip-installs the connector folders into it non-editable with `--no-deps`: the console scripts and package files
are exactly the image's. The full install resolves the dependencies from the index with the pinned constraints, as
the Dockerfile does. Both are cached under a key that hashes the package sources, so a rerun without changes reuses
them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = "requirements/constraints.txt"
CONNECTORS = ("source-salesforce", "destination-salesforce")
# Everything the installed files come from (the connectors link the shared client in).
PACKAGES = ("salesforce-api", *CONNECTORS)
# What a Docker build context would not carry into the image, and what does not change the installed files.
IGNORED = ("build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "unit_tests", "tests", "integration_tests")
KEEP_VENVS = 3


@dataclass(frozen=True)
class Installation:
    """A virtualenv with the connectors installed; `script(name)` is a console script in it."""

    venv: Path
    seconds: float  # time the build took (0 when reused from the cache)

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def script(self, name: str) -> Path:
        return self.venv / "bin" / name


def cache_root() -> Path:
    explicit = os.environ.get("ACCEPTANCE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "salesforce-connectors" / "acceptance"


def source_key(*, full: bool) -> str:
    """A hash of everything that decides the installed files: package sources, constraints, interpreter."""
    digest = hashlib.sha256()
    digest.update(f"{sys.version}|{sys.prefix}|full={full}".encode())
    digest.update((REPO_ROOT / CONSTRAINTS).read_bytes())
    for package in PACKAGES:
        root = REPO_ROOT / package
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if path.is_dir() or any(_ignored(part) for part in relative.parts):
                continue
            digest.update(f"{package}/{relative.as_posix()}".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _ignored(name: str) -> bool:
    return any(Path(name).match(pattern) for pattern in IGNORED)


def install(*, full: bool = False, connectors: tuple[str, ...] = CONNECTORS) -> Installation:
    """Build (or reuse) the cached virtualenv of `connectors`; safe to call from several processes at once."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    kind = ("full_" if full else "quick_") + "_".join(c.split("-")[0] for c in connectors)
    venv = root / f"{kind}-{source_key(full=full)}"
    with _lock(root / ".lock"):
        if (venv / ".complete").exists():
            return Installation(venv, 0.0)
        shutil.rmtree(venv, ignore_errors=True)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="connector-build-") as staging:
            folders = _stage(Path(staging), connectors)
            if full:
                _full_install(venv, folders)
            else:
                _quick_install(venv, folders)
        (venv / ".complete").write_text("")
        _prune(root, venv)
        return Installation(venv, time.monotonic() - started)


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stage(staging: Path, connectors: tuple[str, ...]) -> list[Path]:
    """Copy the connector folders, symlinks resolved, as their Docker build contexts are, so builds never write into
    the repository."""
    (staging / "requirements").mkdir()
    shutil.copy(REPO_ROOT / CONSTRAINTS, staging / CONSTRAINTS)
    folders = []
    for package in connectors:
        target = staging / package
        shutil.copytree(REPO_ROOT / package, target, ignore=shutil.ignore_patterns(*IGNORED))
        folders.append(target)
    return folders


def _quick_install(venv: Path, folders: list[Path]) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # A plain path line (not site.addsitedir) adds the project's site-packages without running its .pth files, so the
    # project's editable installs stay invisible and only the non-editable copies below can be imported.
    site_packages = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    (site_packages / "_project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _pip(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")],
        ["--no-deps", "--no-build-isolation", "--no-index"],
        folders,
    )


def _full_install(venv: Path, folders: list[Path]) -> None:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    _pip([str(venv / "bin" / "python"), "-m", "pip"], [], folders)


def _pip(pip: list[str], options: list[str], folders: list[Path]) -> None:
    constraints = folders[0].parent / CONSTRAINTS
    command = [*pip, "install", "--quiet", "--disable-pip-version-check", *options, "-c", str(constraints)]
    done = subprocess.run([*command, *map(str, folders)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pip install of the connectors failed:\n{done.stdout}\n{done.stderr}")


def _prune(root: Path, current: Path) -> None:
    """Keep the few newest cached environments (other checkouts may still use them)."""
    kind = current.name.split("-")[0]
    others = sorted(
        (p for p in root.glob(f"{kind}-*") if p != current and p.is_dir()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for stale in others[KEEP_VENVS - 1 :]:
        shutil.rmtree(stale, ignore_errors=True)
