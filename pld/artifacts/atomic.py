"""Atomic writes: what a reader finds under the final name is always complete.

``atomic_directory(out)`` serialises writers of one ``out`` with an exclusive lock on a hidden
sibling file (``.<name>.lock``, removed again on release), builds the new version in a hidden
staging folder beside ``out`` and swaps it in with one ``renameat2(RENAME_EXCHANGE)`` where Linux
offers it (elsewhere: two renames under the lock, so a reader may briefly find no ``out``). The
replaced version is kept, complete, as the sibling ``<name>.previous/`` (an older ``.previous``
is dropped), so a bad compile or edit can be undone by hand. A write that fails or is interrupted
before the swap leaves ``out`` byte-identical and removes its staging folder.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from pld.errors import ArtifactError

logger = logging.getLogger(__name__)

LOCK_WAIT_S = 60.0  # writers hold the lock only while they write files, never while they compile
STALE_STAGING_S = 3600.0  # a staging folder untouched this long belongs to a run that died
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def previous_path(out: str | Path) -> Path:
    """Where the version that ``atomic_directory(out)`` replaced is kept."""
    out = Path(out)
    return out.with_name(f"{out.name}.previous")


def lock_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(f".{out.name}.lock")


@contextmanager
def exclusive_lock(out: str | Path, *, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold the write lock of ``out``; wait at most ``wait_s`` seconds for another writer.

    The lock file is unlinked while still locked on release; a waiter that then gets the lock on
    the unlinked file sees that the path no longer names it and locks the path afresh.
    """
    path = lock_path(out)
    deadline = time.monotonic() + wait_s
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _flock(fd, path, out, deadline, wait_s)
            if _names_same_file(fd, path):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the holder before us removed this file: lock the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with suppress(OSError):
            os.unlink(path)
        os.close(fd)


def _flock(fd: int, path: Path, out: str | Path, deadline: float, wait_s: float) -> None:
    """Lock ``fd``, polling until ``deadline``. The kernel drops a dead holder's lock, so a lock
    file left by a killed run never blocks anyone."""
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = _read_holder(path)
                raise ArtifactError(
                    f"another PLD run{holder} is writing {out}; waited {wait_s:.0f} s. Let it finish, "
                    "or write elsewhere (--out)."
                ) from None
            time.sleep(0.05)


def _names_same_file(fd: int, path: Path) -> bool:
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return False
    locked = os.fstat(fd)
    return (current.st_dev, current.st_ino) == (locked.st_dev, locked.st_ino)


def _read_holder(path: Path) -> str:
    with suppress(OSError):
        pid = path.read_text(encoding="utf-8").strip()
        return f" (process {pid})" if pid.isdigit() else ""
    return ""


@contextmanager
def atomic_directory(out: str | Path, *, wait_s: float = LOCK_WAIT_S) -> Iterator[Path]:
    """Yield a staging folder beside ``out``; on success it replaces ``out`` (kept as
    ``<name>.previous``); on any error or interrupt it is removed and ``out`` is left as it was."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(out, wait_s=wait_s):
        _remove_stale_staging(out)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        try:
            staging.chmod(0o755)  # mkdtemp makes it private; the result is meant to be shared
            yield staging
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _install(staging, out)


def _install(staging: Path, out: Path) -> None:
    """Put ``staging`` in ``out``'s place; the old ``out`` becomes ``<name>.previous``."""
    swapped = False
    try:
        if not out.exists() and not out.is_symlink():
            os.rename(staging, out)
            return
        previous = previous_path(out)
        _remove(previous)
        if _exchange(staging, out):
            swapped = True  # staging now holds the old version: keep it recoverable
            os.rename(staging, previous)
            return
        os.rename(out, previous)
        try:
            os.rename(staging, out)
        except BaseException:
            os.rename(previous, out)
            raise
    except BaseException:
        if not swapped:
            shutil.rmtree(staging, ignore_errors=True)
        raise


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where the OS or file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # C library older than glibc 2.28, or not loadable
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def _remove_stale_staging(out: Path) -> None:
    """Drop ``.<name>.partial-*`` folders of runs that died long ago (called under the lock).

    Writers stage only under the lock, so a partial folder seen now is a crashed run's, or one
    of a PLD version without the lock that is still writing; the age threshold spares the latter.
    ``.<name>.old-*`` folders of such versions are left alone: after a crash at the wrong moment
    one may hold the only copy of an artifact.
    """
    now = time.time()
    for stray in out.parent.glob(f".{out.name}.partial-*"):
        with suppress(OSError):
            if stray.is_dir() and now - stray.stat().st_mtime > STALE_STAGING_S:
                shutil.rmtree(stray)
                logger.info("removed %s, left by an interrupted run", stray)
    for old in out.parent.glob(f".{out.name}.old-*"):
        logger.warning("%s was left by an interrupted run of an older PLD; check it and delete it by hand", old)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a file through a temporary sibling and one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
