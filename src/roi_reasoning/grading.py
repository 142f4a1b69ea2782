"""Answer extraction, NA detection and answer equivalence.

Run example: ``python -c "from roi_reasoning.grading import grade; print(grade('\\frac12', '0.5'))"``

``grade(gold, pred)`` decides in this order (first hit wins), each step naming its ``reason``:

1. ``na``: the extracted prediction declares "not attempted" (see :func:`is_na`) -> wrong.
2. ``empty``: nothing to grade (empty box or empty gold) -> wrong.
3. ``too-long``: an extracted answer over ``MAX_ANSWER_CHARS`` characters -> wrong, no sympy.
4. ``exact-string``: normalised strings equal -> correct.
5. ``exact-number``: both sides plainly numbers (:func:`fast_number`) -> exact ``Fraction``
   equality decides, no fallback (so ``0.333`` is not ``\\frac13``, and ``44\\%`` is ``44``, not
   ``0.44``, as in the MATH reference grader).
6. ``math-verify``: ``verify(parse(gold), parse(pred))`` in a worker process; ``timeout`` when it
   ran out of time; ``error`` when the worker died or raised.

Model output is untrusted: sympy never runs in this process. Workers are forked from a private
fork server (a ``python -c`` "zygote" that imported and warmed math-verify once, with
PYTHONHASHSEED=0), so a replacement for a killed worker starts in milliseconds; unlike
multiprocessing's forkserver/spawn it never re-imports the caller's ``__main__`` (an unguarded
script is not run twice) and it works from threads and daemonic processes. A worker gets
``timeout`` seconds (a SIGALRM timer in its own main thread raises inside sympy); one deaf to it
(stuck in C code that never checks signals) is killed by the parent ``KILL_GRACE_S`` later.
Workers are reused, and sympy's caches make a few verdicts on nonsense input (``\\infty \\infty
e`` vs ``26\\pi``) depend on a worker's earlier cases; on real answers they do not (1,200 MATH
pairs graded in two orders agree). :class:`GradingPool` is the pool (context manager, ``stats``);
``grade``/``grade_many`` use a lazily created module-level one, closed at exit. POSIX only.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import math
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from importlib import metadata
from multiprocessing.connection import Connection

_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")

MAX_ANSWER_CHARS = 1000  # characters of the extracted answer; MATH golds are under 200
KILL_GRACE_S = 0.3  # seconds past the timeout before the parent kills a stuck worker
START_TIMEOUT_S = 60.0  # a fresh zygote imports sympy once (about 1 s; more on a slow box)
REASONS = (
    "na",
    "empty",
    "too-long",
    "exact-string",
    "exact-number",
    "math-verify",
    "timeout",
    "error",
)


def _grader_name() -> str:
    try:
        return f"roi-fast+math-verify=={metadata.version('math-verify')}"
    except metadata.PackageNotFoundError:
        return "roi-fast+math-verify==missing"


GRADER = _grader_name()


@dataclass(frozen=True)
class Grade:
    correct: bool
    reason: str  # one of REASONS
    grader: str = GRADER


def boxed_spans(text: str) -> tuple[list[tuple[int, int]], bool]:
    """Content spans (start, end) of every closed ``\\boxed{...}`` in ``text``, nested braces
    handled, and whether an unclosed ``\\boxed{`` remains after the last closed one (the model was
    cut while writing an answer). Boxes nested inside a box are part of the outer content."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while True:
        m = _BOX_OPEN.search(text, pos)
        if m is None:
            return spans, False
        depth, i = 1, m.end()
        while i < len(text) and depth:
            c = text[i]
            if c == "\\" and i + 1 < len(text):  # skip escaped braces \{ \}
                i += 2
                continue
            depth += (c == "{") - (c == "}")
            i += 1
        if depth:
            return spans, True
        spans.append((m.end(), i - 1))
        pos = i


def last_boxed(text: str) -> str | None:
    """Content of the last closed ``\\boxed{}`` in ``text`` (stripped), or None."""
    spans, _ = boxed_spans(text)
    if not spans:
        return None
    start, end = spans[-1]
    return text[start:end].strip()


def extract_answer(pred: str) -> str:
    """The last closed ``\\boxed{}`` content of ``pred``, else ``pred`` stripped (a bare answer).
    A box that is the whole content of a box (``\\boxed{\\boxed{5}}``) is unwrapped too."""
    boxed = last_boxed(pred)
    answer = pred.strip() if boxed is None else boxed
    while (m := _BOX_OPEN.match(answer)) is not None:
        spans, _ = boxed_spans(answer)
        if not spans or spans[0] != (m.end(), len(answer) - 1):
            break
        answer = answer[m.end() : -1].strip()
    return answer


# ---------------------------------------------------------------- normalisation (pure strings)

_MATH_DELIMS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_SPACING = re.compile(r"\\[!,;: ]|~|\\quad\b|\\qquad\b")
_LEFT_RIGHT = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])")
_TEXT_MACRO = re.compile(r"\\(?:text|textbf|textrm|textnormal|mathrm|mathbf|mbox)\s*\{([^{}]*)\}")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°")
_NA = re.compile(r"n\s*/?\s*a|n\s*\.\s*a\s*\.?")


def _unwrap_math(s: str) -> str:
    """Strip surrounding ``$...$``, ``\\(...\\)``, ``\\[...\\]`` (repeatedly) and whitespace."""
    s = s.strip()
    changed = True
    while changed:
        changed = False
        for a, b in _MATH_DELIMS:
            if len(s) >= len(a) + len(b) and s.startswith(a) and s.endswith(b):
                if b == "$" and s.endswith("\\$"):
                    continue
                s, changed = s[len(a) : len(s) - len(b)].strip(), True
    return s


def is_na(answer: str | None) -> bool:
    """Whether ``answer`` declares "not attempted": NA, N/A, N.A., ``\\text{NA}``,
    ``\\mathrm{N/A}`` ..., any case, any spacing. ``None`` (no answer at all) is not NA, and neither
    is "NaN" (a number-like answer, graded like any other) or "none" (a legitimate answer)."""
    if answer is None:
        return False
    s = _unwrap_math(answer)
    for _ in range(3):  # \text{\textbf{NA}} at most a few levels deep
        s = _TEXT_MACRO.sub(r"\1", s).strip()
    s = s.strip("{} ").removesuffix(".")
    return _NA.fullmatch(s.lower()) is not None


def _normalise(s: str) -> str:
    """Spelling-only normalisation for the ``exact-string`` shortcut: equal outputs always mean
    the same answer (spacing macros, ``\\left``, ``\\dfrac``, ``\\text{}``, degree signs)."""
    s = _unwrap_math(s)
    s = _SPACING.sub(" ", s)
    s = _LEFT_RIGHT.sub("", s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("{,}", ",")
    s = _DEGREE.sub("", s)
    s = _TEXT_MACRO.sub(r"\1", s)
    s = re.sub(r"\s+", " ", s)
    s = re.sub(r"(?<![A-Za-z0-9]) | (?![A-Za-z0-9])", "", s).strip().removesuffix(".")
    m = re.fullmatch(r"\(([A-Z])\)", s)  # multiple-choice "(C)" is "C"
    return m.group(1) if m else s


# ---------------------------------------------------------------- fast exact numbers

_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+"  # "1,000" only with 3-digit groups
_ARG = rf"(?:\{{\s*(-?(?:{_NUM}))\s*\}}|(\d))"  # \frac{12}{5} or \frac12
_FRAC = re.compile(rf"\\frac\s*{_ARG}\s*{_ARG}")
_SLASH = re.compile(rf"({_NUM})\s*/\s*({_NUM})")
_PLAIN = re.compile(_NUM)
_UNIT_TEXT = re.compile(
    r"\s*\\(?:text|textrm|textnormal|mathrm|mbox)\s*\{\s*([A-Za-z][A-Za-z .']*)\}"
    r"(?:\s*\^\s*\{?\s*[23]\s*\}?)?\s*$"
)
_UNIT_WORD = re.compile(r"\s+([A-Za-z]{2,}\.?)(?:\s*\^\s*\{?\s*[23]\s*\}?)?\s*$")
# A bare word after a number is a unit only if it is a known short unit or 4+ letters: "2 ab" is
# the product 2ab. Words that change the value (or are math) are never units, \text{} or not.
_SHORT_UNITS = {"cm", "mm", "km", "ft", "in", "yd", "mi", "kg", "mg", "lb", "lbs", "oz", "ml"}
_SHORT_UNITS |= {"hr", "hrs", "min", "mins", "sec", "secs", "mph", "kph", "day", "yr", "yrs"}
_SHORT_UNITS |= {"sq", "cu", "deg", "rad", "usd"}
_NOT_UNITS = {"hundred", "hundreds", "thousand", "thousands", "million", "millions", "billion"}
_NOT_UNITS |= {"billions", "trillion", "dozen", "dozens", "half", "halves", "quarter", "quarters"}
_NOT_UNITS |= {"third", "thirds", "squared", "cubed", "factorial", "am", "pm"}
_NOT_UNITS |= {"pi", "sqrt", "sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp", "inf"}
_NOT_UNITS |= {"infty", "infinity", "and", "or", "times", "over", "plus", "minus", "root", "roots"}
_PERCENT = re.compile(r"\s*\\?%\s*$")
_DEGREE_TAIL = re.compile(r"\s*(?:\^\s*\{?\s*\\circ\s*\}?|°)\s*$")


def _is_unit(words: str, bare: bool) -> bool:
    for word in words.split():
        word = word.replace(".", "").replace("'", "").lower()
        if word in _NOT_UNITS or (bare and len(word) < 4 and word not in _SHORT_UNITS):
            return False
    return True


def _strip_units(s: str) -> str:
    """Drop trailing units: ``\\text{ cm}^2``, ``\\mbox{...}``, ``^\\circ``, ``%``, unit words."""
    while True:
        before = s
        m = _UNIT_TEXT.search(s)
        if m and _is_unit(m.group(1), bare=False):
            s = s[: m.start()]
        s = _PERCENT.sub("", s)
        s = _DEGREE_TAIL.sub("", s)
        m = _UNIT_WORD.search(s)
        if m and _is_unit(m.group(1), bare=True):
            s = s[: m.start()]
        if s == before:
            return s.strip()


def _outer_braces(s: str) -> bool:
    """Whether ``s`` is one brace group ``{...}``."""
    if not (s.startswith("{") and s.endswith("}")):
        return False
    depth = 0
    for i, c in enumerate(s):
        depth += (c == "{") - (c == "}")
        if depth == 0 and i < len(s) - 1:
            return False
    return True


def _frac_num(text: str) -> Fraction:
    return Fraction(text.replace(",", ""))


def fast_number(s: str) -> Fraction | None:
    """The exact value of ``s`` when it is plainly a number, else None (never a guess).

    Accepts integers (leading zeros, ``1,000`` with 3-digit groups only: ``1,2`` is a tuple),
    decimals (exact), signs, ``\\$``/``$``, trailing ``%``/units/``^\\circ``, ``\\frac{a}{b}``,
    ``\\dfrac``, ``\\tfrac``, ``\\frac12``, ``a/b``, surrounding ``$...$``/braces, ``\\left(``.
    A comma-grouped "70,110" reads as 70110 (one number); mixed numbers like ``2\\frac12`` -> None.
    """
    s = _unwrap_math(s).replace("\u2212", "-")
    s = re.sub(r",\s*\\!\s*", ",", s).replace("\\!", "")  # LaTeX's ",\!" = thousands comma
    s = _SPACING.sub(" ", s)
    s = _LEFT_RIGHT.sub("", s).replace("{,}", ",").replace("\\dfrac", "\\frac")
    s = s.replace("\\tfrac", "\\frac").strip()
    while _outer_braces(s):
        s = s[1:-1].strip()
    s = _strip_units(s.removesuffix(".").strip())
    m = re.match(r"([+-]?)\s*(?:\\?\$)?\s*([+-]?)\s*", s)
    sign_a, sign_b, body = m.group(1), m.group(2), s[m.end() :]
    if sign_a and sign_b:
        return None
    while _outer_braces(body):
        body = body[1:-1].strip()
    try:
        if fm := _FRAC.fullmatch(body):
            num = _frac_num(fm.group(1) or fm.group(2))
            den = _frac_num(fm.group(3) or fm.group(4))
            value = num / den
        elif sm := _SLASH.fullmatch(body):
            value = _frac_num(sm.group(1)) / _frac_num(sm.group(2))
        elif _PLAIN.fullmatch(body):
            value = _frac_num(body)
        else:
            return None
    except (ValueError, ZeroDivisionError):  # int() digit limit, x/0
        return None
    return -value if "-" in (sign_a, sign_b) else value


# ---------------------------------------------------------------- the fast path


def _fast_grade(gold: str, pred: str) -> Grade | tuple[str, str]:
    """A Grade when no sympy is needed, else the (gold, pred) answer pair for math-verify."""
    g, p = extract_answer(gold), extract_answer(pred)
    if is_na(p):
        return Grade(False, "na")
    if not p or not g:
        return Grade(False, "empty")
    if len(p) > MAX_ANSWER_CHARS or len(g) > MAX_ANSWER_CHARS:
        return Grade(False, "too-long")
    if _normalise(g) == _normalise(p):
        return Grade(True, "exact-string")
    fg, fp = fast_number(g), fast_number(p)
    if fg is not None and fp is not None:
        return Grade(fg == fp, "exact-number")
    return _unwrap_math(g), _unwrap_math(p)


# ---------------------------------------------------------------- worker side (own processes)


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
    reply = ("ok", False)
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


# ---------------------------------------------------------------- parent side


def default_workers() -> int:
    """CPUs this process may use (at most 32)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    return max(1, min(n, 32))


class _Zygote:
    """Parent-side handle of :func:`_zygote_main`, started with ``python -c`` (no ``__main__``
    re-import, works from threads and daemonic processes)."""

    def __init__(self, max_memory_mb: int | None) -> None:
        ours, theirs = socket.socketpair()
        code = (
            f"import sys; sys.path[:0] = {sys.path!r}; from {__name__} import _zygote_main; "
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


def grade(gold: str, pred: str, *, timeout: float = 5.0) -> Grade:
    """Grade ``pred`` (bare answer or whole response) against ``gold`` on the default pool."""
    return default_pool().grade(gold, pred, timeout=timeout)


def grade_many(
    pairs: list[tuple[str, str]], *, timeout: float = 5.0, workers: int | None = None
) -> list[Grade]:
    """Grade (gold, pred) pairs on the default pool, in parallel, results in input order."""
    return default_pool(workers).grade_many(pairs, timeout=timeout, workers=workers)
