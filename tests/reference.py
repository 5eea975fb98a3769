"""The ministry's reference XSD files of the SNE wire format, and libsne, for compatibility tests only.

They ship in the source distribution of the PyPI package libsne 0.1.0a8 (folder ``ressources/``).
Their licence does not let us copy them into this repository: the tests download the sdist with
pip into ``.cache/reference/`` (git-ignored), check its SHA-256, and extract the ``ressources/``
folder next to it. Once extracted, nothing touches the network again.

The same sdist holds ``libsne/``, a client a software vendor wrote against the real SNE; the
interoperability tests import it from there (:func:`libsne_package_dir`) to check that requests built
exactly as it builds them work against the hub.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / ".cache" / "reference"

PACKAGE = "libsne"
VERSION = "0.1.0a8"
SDIST_NAME = f"{PACKAGE}-{VERSION}.tar.gz"
SDIST_SHA256 = "f34a55888bc9665ee6ccf75a12d9115ec73b23ab37b349543129423c63cc9aec"
RESOURCES = f"{PACKAGE}-{VERSION}/ressources"
LIBSNE = f"{PACKAGE}-{VERSION}/{PACKAGE}"

# The files the compatibility tests need; the folder holds a few more (WSDL files, xmlmime.xsd).
SCHEMA_FILES = (
    "InterfaceNuu_v0200.xsd",
    "InterfaceNuu_v0201.xsd",
    "Doublon_V0200.xsd",
    "InterfaceNuuRecherche_v0200.xsd",
    "InterfaceNuuGPEvenement_v0200.xsd",
    "InterfaceNuuGPTypeEvenement_v0200.xsd",
    "domains.xsd",
)

# The vendor client's modules (it also needs jinja2 and six, which the sdist does not carry).
LIBSNE_FILES = ("__init__.py", "libsne.py", "Constantes.py")

DOWNLOAD_TIMEOUT = 300  # seconds; pip prepares the sdist's metadata, which takes a while


class ReferenceUnavailable(Exception):
    """The reference schemas could not be obtained (no network, PyPI down, pip failure)."""


def reference_schemas_dir(cache_dir: Path = CACHE_DIR) -> Path:
    """The folder holding the reference XSD files, downloading and extracting them if needed."""
    target = cache_dir / RESOURCES
    if _complete(target):
        return target
    with _exclusively(cache_dir):
        if _complete(target):  # another test worker got them while this one waited
            return target
        sdist = cache_dir / SDIST_NAME
        if not sdist.is_file() or _sha256(sdist) != SDIST_SHA256:
            _download(cache_dir)
        digest = _sha256(sdist)
        if digest != SDIST_SHA256:
            # Not a transient failure: the file PyPI served is not the one we reviewed.
            raise RuntimeError(f"{sdist} has SHA-256 {digest}, expected {SDIST_SHA256}")
        _extract_resources(sdist, cache_dir)
    if not _complete(target):
        missing = [name for name in SCHEMA_FILES if not (target / name).is_file()]
        raise RuntimeError(f"{SDIST_NAME} lacks {', '.join(missing)} under {RESOURCES}/")
    return target


def libsne_package_dir(cache_dir: Path = CACHE_DIR) -> Path:
    """The folder of the ``libsne`` package, extracted from the same sdist, next to ``ressources/``.

    libsne reads the reference schema at ``../ressources/InterfaceNuu_v0201.xsd`` from its own
    folder, so both are extracted side by side. Import it with the parent of the returned folder on
    ``sys.path`` (``from libsne import libsne``). Raises :class:`ReferenceUnavailable` like
    :func:`reference_schemas_dir` when the sdist cannot be downloaded.
    """
    reference_schemas_dir(cache_dir)  # downloads and checks the sdist, extracts ressources/
    target = cache_dir / LIBSNE
    if _complete(target, LIBSNE_FILES):
        return target
    _extract_folder(cache_dir / SDIST_NAME, cache_dir, LIBSNE, LIBSNE_FILES)
    if not _complete(target, LIBSNE_FILES):
        missing = [name for name in LIBSNE_FILES if not (target / name).is_file()]
        raise RuntimeError(f"{SDIST_NAME} lacks {', '.join(missing)} under {LIBSNE}/")
    return target


@contextmanager
def _exclusively(cache_dir: Path) -> Iterator[None]:
    """One download at a time: the suite's parallel workers all ask on a fresh clone, and pip
    writing the sdist while another worker hashes it would look like a tampered file."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _complete(folder: Path, names: tuple[str, ...] = SCHEMA_FILES) -> bool:
    return all((folder / name).is_file() for name in names)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _download(cache_dir: Path) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
        f"{PACKAGE}=={VERSION}", "-d", str(cache_dir),
    ]
    # Fail fast when offline (pip retries for minutes by default); the caller's settings win.
    environment = {"PIP_RETRIES": "1", "PIP_TIMEOUT": "20", **os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT, env=environment, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ReferenceUnavailable(f"pip download of {PACKAGE}=={VERSION} failed: {error}") from error
    if result.returncode != 0 or not (cache_dir / SDIST_NAME).is_file():
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        raise ReferenceUnavailable(f"pip download of {PACKAGE}=={VERSION} failed (exit {result.returncode}): {tail}")


def _extract_resources(sdist: Path, cache_dir: Path) -> None:
    """Extract the regular files of ressources/ only, atomically (a half-extracted folder never shows)."""
    _extract_folder(sdist, cache_dir, RESOURCES, SCHEMA_FILES)


def _extract_folder(sdist: Path, cache_dir: Path, folder: str, names: tuple[str, ...]) -> None:
    """Extract the regular files directly in ``folder`` of the sdist, atomically; ``names`` must all be there."""
    prefix = PurePosixPath(folder)
    final = cache_dir / folder
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{prefix.name}-", dir=final.parent))
    staging.chmod(0o755)  # mkdtemp makes it private
    with tarfile.open(sdist, "r:gz") as archive:
        for member in archive.getmembers():
            path = PurePosixPath(member.name)
            # Regular files directly in the folder: no link, no sub-folder, no path trickery.
            if not member.isfile() or path.parent != prefix or path.name in ("", ".", ".."):
                continue
            source = archive.extractfile(member)
            assert source is not None
            (staging / path.name).write_bytes(source.read())
    if final.exists() and not _complete(final, names):  # an older, incomplete extraction
        shutil.rmtree(final)
    try:
        staging.rename(final)
    except OSError:  # another run extracted it meanwhile
        shutil.rmtree(staging)
        if not _complete(final, names):
            raise
