"""Child side of the grading pool: the code that runs in the zygote and worker processes.

Run example: started by :class:`roi_reasoning.grading.pool.GradingPool` as
``python -c "...; from roi_reasoning.grading.worker import _zygote_main; _zygote_main(fd, mb)"``
(see ``_Zygote`` there); not run by hand.

:func:`_zygote_main` runs in the zygote: it imports and warms math-verify once, then forks one
worker per request (:func:`_zygote_serve_one`). :func:`_worker_main` runs in each forked worker:
it grades one (gold, pred) case at a time with :func:`_mv_check` under a SIGALRM timer. Imports
only the standard library (math-verify inside :func:`_mv_check`), nothing from the pool or from
:mod:`roi_reasoning.grading.answer`. The parent imports this module for :func:`_recv_exact`
alone (it reads the zygote's replies with it), and never calls anything else here.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import struct
from multiprocessing.connection import Connection


class _SoftTimeout(BaseException):
    """Raised by the worker's SIGALRM handler; a BaseException so math-verify's and sympy's
    ``except Exception`` clauses let it through."""


def _raise_soft_timeout(signum: int, frame: object) -> None:
    raise _SoftTimeout


def _mv_check(gold: str, pred: str) -> bool:
    """math-verify on two answers. Both are wrapped in ``\\boxed{}`` so LaTeX extraction applies
    to bare LaTeX (MATH golds are box contents); ``verify(gold, target)`` is order-sensitive."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    config = [LatexExtractionConfig(), ExprExtractionConfig()]
    # Timeouts off inside math-verify: our own SIGALRM covers the whole case (float seconds).
    g = parse("\\boxed{" + gold + "}", extraction_config=config, parsing_timeout=None)
    if not g:
        return False
    p = parse("\\boxed{" + pred + "}", extraction_config=config, parsing_timeout=None)
    return bool(p) and bool(verify(g, p, timeout_seconds=None))


_WARM_UP = [
    ("1", "1"),
    ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt2}"),
    ("26\\pi", "\\pi \\cdot 26.0"),
    ("[6,\\infty)", "(-\\infty, 0) \\cup (0, \\infty)"),
    ("(1,-2)", "(-2,1)"),
    ("1,-2", "-2, 1"),
    ("\\begin{pmatrix} 1 \\\\ -3 \\end{pmatrix}", "\\begin{pmatrix}1\\\\3\\end{pmatrix}"),
    ("44\\%", "0.44"),
    ("y = 2x+1", "2x+1"),
    ("x^2 + 10x + 25", "(x+5)^2"),
    ("-2 + 7i", "7i - 2"),
    ("\\text{(C)}", "\\text{Evelyn}"),
    ("1 \\pm \\sqrt{19}", "x \\geq 3"),
    ("e^{2}", "\\ln(3) + \\sin(\\theta) + 2!"),
]


def _worker_main(conn: Connection) -> None:
    """Worker loop: recv (gold, pred, seconds) -> send (kind, correct); kind in ok/timeout/error.
    After a timeout or an error the worker exits (state may be half-updated)."""
    signal.signal(signal.SIGALRM, _raise_soft_timeout)
    reply: tuple[str, bool | str] = ("ok", False)
    while reply[0] == "ok":
        try:
            gold, pred, seconds = conn.recv()
        except (EOFError, OSError):
            return
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            try:
                reply = ("ok", _mv_check(gold, pred))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _SoftTimeout:
            reply = ("timeout", False)
        except Exception as e:
            reply = ("error", type(e).__name__)
        conn.send(reply)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("peer closed")
        data += chunk
    return data


def _zygote_main(fd: int, max_memory_mb: int | None) -> None:
    """A private fork server: import and warm math-verify once, then fork one worker per request.

    Requests are 9 bytes (op, pid): ``F`` with a socket fd attached -> fork a worker on it;
    ``K`` -> SIGKILL that worker if it is still ours. The reply is 8 bytes (the pid). Unlike
    multiprocessing's forkserver it never imports the caller's ``__main__``. On EOF (the parent
    is gone) it kills its remaining workers and exits."""
    import logging

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    sock = socket.socket(fileno=fd)
    if max_memory_mb:
        try:  # inherited by workers: 10^{10^{10}} gets MemoryError, not the OOM killer
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (max_memory_mb << 20, max_memory_mb << 20))
        except (ImportError, ValueError, OSError):
            pass
    for name in ("math_verify", "latex2sympy2_extended"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:  # sympy imports lazily: touch every code path once so each fork starts warm
        for gold, pred in _WARM_UP:
            _mv_check(gold, pred)
    except Exception:
        sock.sendall(b"E")
        return
    gc.collect()
    gc.freeze()  # workers' collections skip the warm heap: no copy-on-write storm per fork
    sock.sendall(b"R")
    live: set[int] = set()
    try:
        while _zygote_serve_one(sock, live):
            pass
    finally:
        for pid in live:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _zygote_serve_one(sock: socket.socket, live: set[int]) -> bool:
    """Answer one zygote request; False once the parent has gone."""
    try:
        msg, fds, _, _ = socket.recv_fds(sock, 9, 1)
        if msg and len(msg) < 9:
            msg += _recv_exact(sock, 9 - len(msg))
    except (OSError, EOFError):
        return False
    if not msg:
        return False
    while live:  # reap finished workers so "K" never signals a recycled pid
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        live.discard(pid)
    op, pid = msg[:1], struct.unpack("!q", msg[1:])[0]
    if op == b"F" and fds:
        try:
            pid = os.fork()
        except OSError:
            pid = -1
        if pid == 0:  # the worker: never returns into the zygote loop
            sock.close()
            code = 1
            try:
                _worker_main(Connection(fds[0]))
                code = 0
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)
        if pid > 0:
            live.add(pid)
    elif op == b"K" and pid in live:
        os.kill(pid, signal.SIGKILL)
    sock.sendall(struct.pack("!q", pid))
    return True
