"""One lock per model name, held by the process that trains or writes that model.

The lock is an advisory ``flock`` on ``models/.locks/NAME.lock``: the kernel
drops it when its process dies, however it dies (kill -9 included), so a
stale lock never blocks anyone, and whoever holds a name's lock knows that
no live process is half-way through writing that model. Re-entrant within
a process (``fit`` holds the name for its whole run and saves under it).
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from charlm.errors import ModelBusyError, StoreError

LOCK_DIR = ".locks"

_held: dict[str, tuple[int, int]] = {}  # lock path -> (fd, depth)
_guard = threading.Lock()


def _lock_fd(fd: int, blocking: bool) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return True
            except OSError:
                if not blocking:
                    return False
                time.sleep(0.1)
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return True
    except BlockingIOError:
        return False


def _unlock_fd(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def try_lock(root: Path, name: str) -> int | None:
    """Take ``name``'s lock without waiting; the fd to pass to :func:`release`, or None if it is held."""
    path = _path(root, name)
    with _guard:
        if str(path) in _held:
            fd, depth = _held[str(path)]
            _held[str(path)] = (fd, depth + 1)
            return fd
        fd = _open(path)
        if not _lock_fd(fd, blocking=False):
            os.close(fd)
            return None
        _mark(fd)
        _held[str(path)] = (fd, 1)
        return fd


def release(root: Path, name: str) -> None:
    path = str(_path(root, name))
    with _guard:
        fd, depth = _held[path]
        if depth > 1:
            _held[path] = (fd, depth - 1)
            return
        del _held[path]
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        _unlock_fd(fd)
        os.close(fd)


@contextmanager
def name_lock(root: Path, name: str, *, wait: float = 0.0, doing: str = "writing",
              advice: str = "wait for it to finish, or choose another --name") -> Iterator[None]:
    """Hold ``name``'s lock for the block.

    Args:
        root: the models folder.
        name: the model name (already validated).
        wait: seconds to wait for another process to finish before giving up.
        doing: what the other process is said to be doing in the error message.
        advice: what the message tells the user to do instead.

    Raises:
        ModelBusyError: another process holds the name (after ``wait`` seconds).
        StoreError: the lock file cannot be created (read-only store...).
    """
    deadline = time.monotonic() + wait
    while try_lock(root, name) is None:
        if time.monotonic() >= deadline:
            raise ModelBusyError(
                f"model {name!r} is being {doing} by another charlm process{_holder(_path(root, name))}; {advice}"
            )
        time.sleep(0.05)
    try:
        yield
    finally:
        release(root, name)


def _path(root: Path, name: str) -> Path:
    return root / LOCK_DIR / f"{name}.lock"


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot write to the model store at {path.parent.parent} "
                         f"({exc.strerror or errno.errorcode.get(exc.errno, exc)})") from None


def _mark(fd: int) -> None:
    """Write our pid into the lock file, so a waiting process can say who holds it."""
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, str(os.getpid()).encode())
    except OSError:
        pass
