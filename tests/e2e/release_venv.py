"""A released smsd installed the way a user installs it, in a venv of its own (upgrade tests).

The release's tree is exported from git (`git archive` of its commit) and `pip install`ed into a
fresh venv: its packaging is what is exercised, the `smsd` entry point, the package data
(store/schema.sql) and the cffi build of its C codec. The venv borrows this interpreter's
dependencies through a `.pth` file naming this environment's site-packages (a path line only:
the editable install of the current smsd there is not activated, so `import smsd` in the venv
is the release's), and the release's pins are checked against them.

Building needs the release's build requirements. First without build isolation, from what this
environment has and without the network; when that cannot build (setuptools older than 70.1
without the `wheel` package has no bdist_wheel) pip builds in isolation, fetching the build
requirements from the package index. Dependencies missing or outside the release's pins are
installed into the venv from the index too. Which route ran is recorded.

A venv is made once and kept under build/upgrade-venvs/ (git-ignored, removed by `make clean`),
keyed by the release commit, this interpreter and where the dependencies live; a lock keeps two
test runs from making the same one at once, and a venv whose marker is missing (an interrupted
build) or that no longer works is made again.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import venv
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "build" / "upgrade-venvs"
MARKER = "release-venv.json"
DEPS_PTH = "smsd_test_deps.pth"
LAYOUT = 1          # how a venv is made; bump it when that changes so cached ones are made anew
ROUTE_OFFLINE = "no build isolation, this environment's setuptools and cffi, no network"
ROUTE_ISOLATED = "build isolation, build requirements from the package index"

# Run by the venv's interpreter: the release's requirements that its environment does not meet.
UNMET = """
import importlib.metadata as md, json
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
unmet = []
for text in md.requires("smsd") or []:
    req = Requirement(text)
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue
    try:
        have = md.version(req.name)
    except md.PackageNotFoundError:
        unmet.append(str(req))
        continue
    if not req.specifier.contains(have, prereleases=True):
        unmet.append(str(req))
print(json.dumps(unmet))
"""

# Run by the venv's interpreter with SMSD_PDU_BACKEND=auto: what `import smsd` there is.
PROBE = """
import importlib.resources, json, smsd, smsd.pdu
print(json.dumps({"file": smsd.__file__, "version": smsd.__version__,
                  "backend": smsd.pdu.BACKEND,
                  # the schema as the release ships it: one script (0.1.0) or its migrations
                  "schema": importlib.resources.files("smsd").joinpath("store/schema.sql")
                  .is_file() or importlib.resources.files("smsd")
                  .joinpath("store/migrations/0001_v0_1_0.sql").is_file()}))
"""


@dataclass(frozen=True)
class ReleaseVenv:
    tag: str
    commit: str
    path: Path
    route: str                  # how the release was built (ROUTE_*), and why, when not offline
    extra_deps: list[str]       # requirements installed from the index (unmet by this env)
    made_in: float | None       # seconds it took to make the venv; None: it was in the cache
    probe: dict[str, object]    # PROBE's answer

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def smsd(self) -> Path:
        """The release's console script."""
        return self.path / "bin" / "smsd"

    def env(self) -> dict[str, str]:
        """Environment for running the release: its own C codec when it builds (auto), nothing
        from PYTHONPATH in front of the venv."""
        return {"SMSD_PDU_BACKEND": "auto", "PYTHONPATH": ""}


def dep_paths() -> list[str]:
    """Where this interpreter's dependencies live (no machine path is written down anywhere)."""
    paths = sysconfig.get_paths()
    return sorted({paths["purelib"], paths["platlib"]})


def cache_dir(tag: str, commit: str) -> Path:
    key = json.dumps({"commit": commit, "layout": LAYOUT, "deps": dep_paths(),
                      "python": os.path.realpath(getattr(sys, "_base_executable",
                                                         sys.executable)),
                      "version": sys.version}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return CACHE / f"{tag}-{commit[:12]}-{digest}"


def run(args: list[str | Path], *, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 600, stdin: bytes | None = None
        ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(a) for a in args], cwd=cwd, input=stdin, capture_output=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": "", **(env or {})})


def output(args: list[str | Path], *, cwd: Path | None = None,
           env: dict[str, str] | None = None, timeout: float = 60) -> str:
    """What a command that must succeed prints."""
    done = run(args, cwd=cwd, env=env, timeout=timeout)
    assert done.returncode == 0, (args, done.stderr.decode(errors="replace"))
    return done.stdout.decode()


def first_error(done: subprocess.CompletedProcess[bytes]) -> str:
    """The build's own first error line: a sentence, not one of pip's own error names
    ("error: subprocess-exited-with-error") around it."""
    lines = [ln.strip() for ln in (done.stderr + done.stdout).decode(errors="replace")
             .splitlines() if ln.strip().lower().startswith("error")]
    said = [ln for ln in lines if " " in ln.split(":", 1)[-1].strip()]
    return (said or lines or [f"exit status {done.returncode}"])[0]


def export_tree(commit: str, dest: Path) -> None:
    archive = run(["git", "-C", ROOT, "archive", "--format=tar", commit], timeout=120)
    assert archive.returncode == 0, archive.stderr.decode(errors="replace")
    untar = run(["tar", "-x", "-C", dest], stdin=archive.stdout, timeout=120)
    assert untar.returncode == 0, untar.stderr.decode(errors="replace")


def pip_install(python: Path, *args: str | Path) -> subprocess.CompletedProcess[bytes]:
    # pip itself comes from this environment through the .pth: the venv is made without one
    return run([python, "-m", "pip", "--disable-pip-version-check", "--no-input", "install",
                "-q", *args])


def install(python: Path, tree: Path) -> str:
    """Builds and installs the release's tree; the route that did it."""
    offline = pip_install(python, "--no-deps", "--no-build-isolation", "--no-index", tree)
    if offline.returncode == 0:
        return ROUTE_OFFLINE
    isolated = pip_install(python, "--no-deps", tree)
    assert isolated.returncode == 0, (
        f"the release does not install: without build isolation: {first_error(offline)}; "
        f"with it (the package index unreachable? then `pip install wheel` into this venv "
        f"lets it build offline): {isolated.stderr.decode(errors='replace')}")
    return f"{ROUTE_ISOLATED} (without isolation: {first_error(offline)})"


def probe(python: Path) -> dict[str, object]:
    answer: dict[str, object] = json.loads(output(
        [python, "-P", "-c", PROBE], cwd=python.parent, env={"SMSD_PDU_BACKEND": "auto"},
        timeout=60))
    return answer


def make(tag: str, commit: str, path: Path) -> tuple[str, list[str]]:
    """A venv at `path` with the release installed; (route, requirements fetched)."""
    shutil.rmtree(path, ignore_errors=True)
    venv.EnvBuilder(with_pip=False, symlinks=True).create(path)
    python = path / "bin" / "python"
    purelib = output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     timeout=60).strip()
    Path(purelib, DEPS_PTH).write_text("".join(p + "\n" for p in dep_paths()), encoding="utf-8")
    with tempfile.TemporaryDirectory(dir=path, prefix="src-") as tmp:
        export_tree(commit, Path(tmp))
        route = install(python, Path(tmp))
    unmet = json.loads(output([python, "-P", "-c", UNMET], timeout=60))
    if unmet:
        fetched = pip_install(python, *unmet)
        assert fetched.returncode == 0, fetched.stderr.decode(errors="replace")
    (path / MARKER).write_text(json.dumps({"tag": tag, "commit": commit, "route": route,
                                           "extra_deps": unmet}), encoding="utf-8")
    return route, unmet


def release_venv(tag: str, commit: str) -> ReleaseVenv:
    """The release installed in its venv, from the cache when it is there and works."""
    path = cache_dir(tag, commit)
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        made_in = None
        try:
            marker = json.loads((path / MARKER).read_text(encoding="utf-8"))
            answer = probe(path / "bin" / "python")
        except (OSError, ValueError, AssertionError):
            started = time.monotonic()
            route, unmet = make(tag, commit, path)
            marker = {"route": route, "extra_deps": unmet}
            made_in = time.monotonic() - started
            answer = probe(path / "bin" / "python")
    return ReleaseVenv(tag, commit, path, str(marker["route"]), list(marker["extra_deps"]),
                       made_in, answer)
