"""Parent side of the grading pool: runs math-verify out of process with a wall-clock timeout.

Run example: ``python -c "from roi_reasoning.grading.pool import GradingPool; print(GradingPool().grade('x+1', '1+x'))"``

Runs in the caller's process (the parent). It grades with :func:`_fast_grade` from
:mod:`roi_reasoning.grading.answer` and sends only what that leaves to the worker processes,
whose code is :mod:`roi_reasoning.grading.worker`; it imports those two and nothing above them
(``grade``/``grade_many`` in :mod:`roi_reasoning.grading` import this module, never the reverse).

Model output is untrusted: sympy never runs in this process. Workers are forked from a private
fork server (a ``python -c`` "zygote" that imported and warmed math-verify once, with
PYTHONHASHSEED=0), so a replacement for a killed worker starts in milliseconds; unlike
multiprocessing's forkserver/spawn it never re-imports the caller's ``__main__`` (an unguarded
script is not run twice) and it works from threads and daemonic processes. A worker gets
``timeout`` seconds (a SIGALRM timer in its own main thread raises inside sympy); one deaf to it
(stuck in C code that never checks signals) is killed by the parent ``KILL_GRACE_S`` later.
Workers are reused, and sympy's caches make a few verdicts on nonsense input (``\\infty \\infty
e`` vs ``26\\pi``) depend on a worker's earlier cases; on real answers they do not
(docs/findings.md §8). :class:`GradingPool` is the pool (context manager, ``stats``);
:func:`default_pool` is a lazily created module-level one, closed at exit, which
``roi_reasoning.grading.grade``/``grade_many`` use. POSIX only.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import socket
import struct
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection

from roi_reasoning.grading.answer import REASONS, Grade, _fast_grade
from roi_reasoning.grading.worker import _recv_exact

KILL_GRACE_S = 0.3  # seconds past the timeout before the parent kills a stuck worker
START_TIMEOUT_S = 60.0  # seconds for a fresh zygote to import and warm math-verify and sympy


def default_workers() -> int:
    """CPUs this process may use (at most 32)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    return max(1, min(n, 32))


class _Zygote:
    """Parent-side handle of the zygote process, which runs
    :func:`roi_reasoning.grading.worker._zygote_main`; started with ``python -c`` (no ``__main__``
    re-import, works from threads and daemonic processes)."""

    def __init__(self, max_memory_mb: int | None) -> None:
        ours, theirs = socket.socketpair()
        code = (
            f"import sys; sys.path[:0] = {sys.path!r}; from roi_reasoning.grading.worker import _zygote_main; "
            f"_zygote_main({theirs.fileno()}, {max_memory_mb!r})"
        )
        self.proc = subprocess.Popen(  # stdout closed: never mixes into e.g. `roi grade > out`
            [sys.executable, "-c", code],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "PYTHONHASHSEED": "0"},  # same set orders, same verdicts each run
        )
        theirs.close()
        self.sock, self.lock = ours, threading.Lock()
        self.sock.settimeout(START_TIMEOUT_S)
        try:
            ok = _recv_exact(self.sock, 1) == b"R"
        except (OSError, EOFError):
            ok = False
        if not ok:
            self.close()
            raise RuntimeError("grading zygote failed to start (is math-verify installed?)")
        self.sock.settimeout(30.0)  # a fork or kill request answers in milliseconds

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _request(self, op: bytes, pid: int, fd: int | None = None) -> int:
        msg = op + struct.pack("!q", pid)
        with self.lock:
            if fd is None:
                self.sock.sendall(msg)
            else:
                socket.send_fds(self.sock, [msg], [fd])
            return struct.unpack("!q", _recv_exact(self.sock, 8))[0]

    def fork(self) -> _Worker:
        ours, theirs = socket.socketpair()
        try:
            pid = self._request(b"F", 0, theirs.fileno())
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        if pid <= 0:
            ours.close()
            raise RuntimeError("grading zygote could not fork")
        return _Worker(self, pid, Connection(ours.detach()))

    def close(self) -> None:
        self.sock.close()  # EOF: the zygote kills its workers and exits
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class _Worker:
    """Parent-side handle of one forked worker process: its pid and its case connection."""

    __slots__ = ("zygote", "pid", "conn")

    def __init__(self, zygote: _Zygote, pid: int, conn: Connection) -> None:
        self.zygote, self.pid, self.conn = zygote, pid, conn

    def kill(self) -> None:
        with contextlib.suppress(OSError, EOFError):  # a dead zygote took its workers along
            self.zygote._request(b"K", self.pid)
        self.conn.close()


class GradingPool:
    """Runs math-verify in worker processes, each case under a wall-clock ``timeout`` (seconds).

    Thread-safe: any thread may call :meth:`grade` / :meth:`grade_many`; each running case holds
    one worker, at most ``max_workers``. Workers are forked lazily from the warm zygote and reused
    while their cases end normally; after a timeout or an error a worker is discarded (killed if
    stuck; an interrupted sympy may have left state half-updated) and the next case forks a fresh
    one. ``stats`` counts grades per reason plus ``spawned`` workers and ``killed`` stuck or dead
    ones. ``max_memory_mb`` caps each worker's address space (None: no cap).
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        timeout: float = 5.0,
        max_memory_mb: int | None = 4096,
    ) -> None:
        self.max_workers = max_workers or default_workers()
        self.timeout = timeout
        self.max_memory_mb = max_memory_mb
        self.stats: dict[str, int] = dict.fromkeys((*REASONS, "killed", "spawned"), 0)
        self._idle: list[_Worker] = []
        self._live = 0  # workers idle or running a case (or being forked)
        self._cond = threading.Condition()
        self.closed = False
        self._zygote: _Zygote | None = None
        self._zygote_lock = threading.Lock()

    def __enter__(self) -> GradingPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _count(self, key: str) -> None:
        with self._cond:
            self.stats[key] += 1

    def _fork(self) -> _Worker:
        with self._zygote_lock:
            if self.closed:
                raise RuntimeError("GradingPool is closed")
            if self._zygote is None or not self._zygote.alive():
                self._zygote = _Zygote(self.max_memory_mb)
            zygote = self._zygote
        worker = zygote.fork()
        self._count("spawned")
        return worker

    def _checkout(self) -> _Worker:
        with self._cond:
            while not self._idle and self._live >= self.max_workers:
                self._cond.wait()
            if self._idle:
                return self._idle.pop()
            self._live += 1
        try:
            return self._fork()
        except BaseException:
            self._checkin(None)
            raise

    def _checkin(self, worker: _Worker | None) -> None:
        with self._cond:
            keep = worker is not None and not self.closed
            if keep:
                assert worker is not None  # keep implies a worker
                self._idle.append(worker)
            else:
                self._live -= 1
            self._cond.notify()
        if worker is not None and not keep:
            worker.kill()

    def _verify(self, gold: str, pred: str, timeout: float) -> Grade:
        """One math-verify case on one worker: ``math-verify``, ``timeout`` or ``error``."""
        try:
            worker = self._checkout()
        except Exception:  # no zygote (failed start, pool closed meanwhile): not gradable
            return Grade(False, "error")
        kind, ok = "died", False
        try:
            worker.conn.send((gold, pred, timeout))
            if worker.conn.poll(timeout + KILL_GRACE_S):
                kind, ok = worker.conn.recv()
            else:
                kind = "killed"
        except (EOFError, OSError):
            pass  # the worker died (segfault, OOM kill, pool closed): "error"
        finally:
            if kind in ("died", "killed"):  # also on KeyboardInterrupt: state unknown
                self._count("killed")
                worker.kill()
            elif kind != "ok":
                worker.conn.close()  # it exits by itself after a timeout or an error
            self._checkin(worker if kind == "ok" else None)
        reason = {"ok": "math-verify", "timeout": "timeout", "killed": "timeout"}.get(kind, "error")
        return Grade(reason == "math-verify" and bool(ok), reason)

    def grade(self, gold: str, pred: str, *, timeout: float | None = None) -> Grade:
        """Grade ``pred`` (a bare answer or a whole response) against ``gold``."""
        timeout = self._check_timeout(timeout)
        fast = _fast_grade(gold, pred)
        result = fast if isinstance(fast, Grade) else self._verify(*fast, timeout)
        self._count(result.reason)
        return result

    def grade_many(
        self,
        pairs: list[tuple[str, str]],
        *,
        timeout: float | None = None,
        workers: int | None = None,
    ) -> list[Grade]:
        """Grade (gold, pred) pairs, math-verify cases in parallel on up to ``workers`` workers;
        results in input order."""
        timeout = self._check_timeout(timeout)
        results: list[Grade | None] = [None] * len(pairs)
        todo: list[tuple[int, tuple[str, str]]] = []
        for i, (gold, pred) in enumerate(pairs):
            fast = _fast_grade(gold, pred)
            if isinstance(fast, Grade):
                results[i] = fast
                self._count(fast.reason)
            else:
                todo.append((i, fast))

        def run(item: tuple[int, tuple[str, str]]) -> Grade:
            result = self._verify(*item[1], timeout)
            self._count(result.reason)
            return result

        n = min(workers or self.max_workers, self.max_workers, len(todo))
        if n > 1:
            with ThreadPoolExecutor(n, thread_name_prefix="roi-grade") as ex:
                graded = list(ex.map(run, todo))
        else:
            graded = [run(item) for item in todo]
        for (i, _), result in zip(todo, graded, strict=True):
            results[i] = result
        return results  # type: ignore[return-value]

    def _check_timeout(self, timeout: float | None) -> float:
        if self.closed:
            raise RuntimeError("GradingPool is closed")
        timeout = self.timeout if timeout is None else timeout
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        return float(timeout)

    def start(self, n: int | None = None) -> None:
        """Fork ``n`` workers now (default ``max_workers``), e.g. before a timed section."""
        held: list[_Worker] = []
        try:
            for _ in range(min(n or self.max_workers, self.max_workers)):
                held.append(self._checkout())
        finally:
            for worker in held:
                self._checkin(worker)

    def close(self) -> None:
        """Stop the zygote and every worker now (a case still running grades as ``error``)."""
        with self._zygote_lock:
            self.closed = True
            zygote, self._zygote = self._zygote, None
        with self._cond:
            idle, self._idle = self._idle, []
            self._live -= len(idle)
            self._cond.notify_all()
        for worker in idle:
            worker.kill()
        if zygote is not None:
            zygote.close()  # EOF: it kills the workers still running


_DEFAULT_POOL: GradingPool | None = None
_DEFAULT_LOCK = threading.Lock()


def default_pool(min_workers: int | None = None) -> GradingPool:
    """The lazily created module-level pool (closed at exit), grown to ``min_workers``."""
    global _DEFAULT_POOL
    with _DEFAULT_LOCK:
        if _DEFAULT_POOL is None or _DEFAULT_POOL.closed:
            _DEFAULT_POOL = GradingPool()
        pool = _DEFAULT_POOL
    if min_workers and min_workers > pool.max_workers:
        with pool._cond:
            pool.max_workers = min_workers
    return pool


@atexit.register
def shutdown_default_pool() -> None:
    """Close the module-level pool (runs at interpreter exit)."""
    global _DEFAULT_POOL
    with _DEFAULT_LOCK:
        pool, _DEFAULT_POOL = _DEFAULT_POOL, None
    if pool is not None:
        pool.close()
