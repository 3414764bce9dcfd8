"""Private data on disk: directories 0700, files 0600, whole-file replace.

Everything under the data dir is the city's data or a secret (device-key hashes, token hashes,
the visitor salt, buffered presses, the broker's log, the embedded ClickHouse), so no other user
of the machine may read it. Every stage creates its directories and files through these helpers,
so the modes are decided in one place and tested once. A directory that already exists is
tightened too: data dirs made by an older version (0755) are closed at the next start.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DIR_MODE", "FILE_MODE", "private_dir", "private_file", "write_private"]

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path | str) -> Path:
    """Create ``path`` (and missing parents) as 0700; tighten it if it exists. Returns it.

    Only the directory itself is tightened, never an existing parent (``/tmp`` stays as it is).
    """
    directory = _create_missing(Path(path))
    if directory.stat().st_mode & 0o777 != DIR_MODE:
        directory.chmod(DIR_MODE)
    return directory


def _create_missing(directory: Path) -> Path:
    missing = []
    probe = directory
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for created in reversed(missing):
        # mkdir's mode is masked by the umask; chmod afterwards makes it exact.
        created.mkdir(mode=DIR_MODE, exist_ok=True)
        created.chmod(DIR_MODE)
    return directory


def private_file(path: Path) -> Path:
    """Create ``path`` empty as 0600 if missing, else tighten it to 0600 (e.g. before SQLite,
    which gives its journal files the mode of the database file)."""
    _create_missing(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    if path.stat().st_mode & 0o777 != FILE_MODE:
        path.chmod(FILE_MODE)
    return path


def write_private(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically (temp file + rename), mode 0600.

    A reader in another process sees the old file or the new one, never half of one: that is
    what lets a running API re-read a store while the CLI rewrites it.
    """
    _create_missing(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
