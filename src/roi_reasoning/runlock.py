"""One writer per run folder: an advisory lock (``fcntl.flock``) on ``<folder>/.roi.lock``
(a file output locks ``.<name>.lock`` beside it), held while a command writes there.

The kernel drops the lock when its process dies (a kill included), so a stale lock file never
blocks; the file holds the holder's pid, which a second writer's error names. Nested holds of
one path by the same process are allowed (the demo holds its folder while its stages hold
theirs).

Run example::

    from roi_reasoning.runlock import hold
    with hold("runs/x"):
        ...  # write into runs/x
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from roi_reasoning import runfolder
from roi_reasoning.errors import RunBusy

_held: dict[Path, int] = {}  # lock file → nesting depth, in this process


def lock_path(target: str | os.PathLike[str], folder: bool = True) -> Path:
    """The lock file of a run folder (``folder``) or of a single output file."""
    p = Path(target).absolute()
    return p / runfolder.LOCK if folder else p.parent / f".{p.name}.lock"


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return "unknown pid"
    return f"pid {pid}" if pid.isdigit() else "unknown pid"


@contextlib.contextmanager
def hold(target: str | os.PathLike[str], folder: bool = True) -> Iterator[Path]:
    """Hold the lock of ``target`` (created if missing) for the ``with`` block; RunBusy names
    the holder's pid when another live process holds it."""
    path = lock_path(target, folder)
    if path in _held:  # this process already holds it (a stage inside the demo)
        _held[path] += 1
        try:
            yield path
        finally:
            _held[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _lock_or_busy(fd, path, target, folder)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        _held[path] = 1
        try:
            yield path
        finally:
            del _held[path]
    finally:
        os.close(fd)  # closing releases the lock


def _lock_or_busy(fd: int, path: Path, target: str | os.PathLike[str], folder: bool) -> None:
    """Take the lock on ``fd`` without waiting; RunBusy naming the holder otherwise."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        where = path.parent if folder else Path(target)
        raise RunBusy(
            where,
            None,
            f"another roi process ({_holder(path)}) is writing here; "
            "wait for it to finish or use another --out",
        ) from None


def ensure_free(target: str | os.PathLike[str], folder: bool = True) -> None:
    """RunBusy now when another live process holds ``target``'s lock; creates nothing. A cheap
    early check before slow work (loading a model); ``hold`` is what excludes writers."""
    path = lock_path(target, folder)
    if path in _held or not path.exists():
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        _lock_or_busy(fd, path, target, folder)
    finally:
        os.close(fd)  # closing releases the probe's lock
