"""The pure answer code: box extraction, NA detection, normalisation and exact numbers.

Run example: ``python -c "from roi_reasoning.grading.answer import _fast_grade; print(_fast_grade('1/2', '0.5'))"``

Runs in the caller's process (the parent of the grading pool; workers never call it). It
imports only the standard library: never sympy, the pool (:mod:`roi_reasoning.grading.pool`) or
the worker (:mod:`roi_reasoning.grading.worker`). :func:`_fast_grade` is steps 1-6 of the order
in which :func:`roi_reasoning.grading.grade` decides (first hit wins, each step names a reason):

1. ``too-long``: gold or response over ``MAX_INPUT_CHARS`` characters -> wrong, nothing read.
2. ``na``: the extracted prediction declares "not attempted" (see :func:`is_na`) -> wrong.
3. ``empty``: nothing to grade (empty box, a box that never closes, empty gold) -> wrong.
4. ``too-long``: an extracted answer over ``MAX_ANSWER_CHARS`` characters -> wrong, no sympy.
5. ``exact-string``: normalised strings equal -> correct.
6. ``exact-number``: both sides read exactly as numbers (:func:`_read_number`: plain, ``1 000``,
   mixed ``4 4/9``) -> :func:`_numbers_match` decides, no fallback: exact ``Fraction`` equality,
   except that a decimal of >= ``DBL_DIG`` significant digits stands for a non-terminating
   fraction it renders (``0.3333333333333333`` is ``1/3``; ``0.333333`` is not, nor ``0.428571``
   ``3/7``, where math-verify's 6-place rounding says yes), and percents: ``44\\%`` is ``44``
   (MATH drops the sign), a predicted ``10\\%`` is also ``0.1``, a gold ``44\\%`` never ``0.44``.
7. ``math-verify`` (not here): otherwise :func:`_fast_grade` returns the unwrapped answer pair,
   which the pool's worker processes check with ``verify(parse(gold), parse(pred))``;
   ``timeout`` when that ran out of time, ``error`` when the worker died or raised.

Extraction is linear in the input (brace matching and unwrapping move indices, never re-scan or
re-slice) and steps 4-6 see at most ``MAX_ANSWER_CHARS`` characters: every call returns quickly
in the main process (bench/grading.py: the slowest adversarial line vs the timeout).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from importlib import metadata

_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BRACE_TOKEN = re.compile(r"\\.|[{}]", re.S)  # an escape ("\{" is no brace) or a brace

MAX_INPUT_CHARS = 1_000_000  # characters of a whole gold or response (~250k tokens); read no more
MAX_ANSWER_CHARS = 1000  # characters of the extracted answer; MATH golds are under 200
DBL_DIG = 15  # significant decimal digits an IEEE-754 double always preserves (C's DBL_DIG)
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


# ---------------------------------------------------------------- boxes and braces (linear)


def _close_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing the group whose content starts at ``start``, or -1 if it never
    closes. A backslash escapes the next character (``\\{``, ``\\}`` are no braces)."""
    depth = 1
    for m in _BRACE_TOKEN.finditer(text, start):
        c = m.group()
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if not depth:
                return m.start()
    return -1


def _brace_pairs(text: str, lo: int, hi: int) -> dict[int, int]:
    """Opening -> closing index of every matched brace pair in ``text[lo:hi]``, in one pass
    (escapes as in :func:`_close_brace`; unmatched braces are left out)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for m in _BRACE_TOKEN.finditer(text, lo, hi):
        c = m.group()
        if c == "{":
            stack.append(m.start())
        elif c == "}" and stack:
            pairs[stack.pop()] = m.start()
    return pairs


def _strip_span(text: str, lo: int, hi: int) -> tuple[int, int]:
    """``(lo, hi)`` moved inward past whitespace, as ``str.strip`` would, without copying."""
    while lo < hi and text[lo].isspace():
        lo += 1
    while hi > lo and text[hi - 1].isspace():
        hi -= 1
    return lo, hi


def boxed_spans(text: str) -> tuple[list[tuple[int, int]], bool]:
    """Content spans (start, end) of every closed ``\\boxed{...}`` in ``text``, nested braces
    handled, and whether an unclosed ``\\boxed{`` remains after the last closed one (the model was
    cut while writing an answer). Boxes nested inside a box are part of the outer content.
    Linear time: every character is read once, by the box search or by one brace scan."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while (m := _BOX_OPEN.search(text, pos)) is not None:
        end = _close_brace(text, m.end())
        if end < 0:
            return spans, True
        spans.append((m.end(), end))
        pos = end + 1
    return spans, False


def extract_answer(pred: str) -> str:
    """The answer in ``pred``: the last closed ``\\boxed{}``'s content; ``""`` (no answer) when a
    box was opened but none closed (``\\boxed{\\frac{1}{2}`` was cut: it is no answer); else
    ``pred`` stripped (a bare answer). A box that is the whole content of a box
    (``\\boxed{\\boxed{5}}``) is unwrapped too, any depth, in linear time (one brace pass)."""
    spans, open_box = boxed_spans(pred)
    if not spans:
        return "" if open_box else pred.strip()
    lo, hi = _strip_span(pred, *spans[-1])
    if _BOX_OPEN.match(pred, lo, hi) is None:
        return pred[lo:hi]
    pairs = _brace_pairs(pred, lo, hi)  # the content is balanced: every brace is paired
    while (m := _BOX_OPEN.match(pred, lo, hi)) is not None and pairs.get(m.end() - 1) == hi - 1:
        lo, hi = _strip_span(pred, m.end(), hi - 1)
    return pred[lo:hi]


# ---------------------------------------------------------------- normalisation (pure strings)

_MATH_DELIMS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_SPACING = re.compile(r"\\[!,;: ]|~|\\quad\b|\\qquad\b")
_LEFT_RIGHT = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])")
_TEXT_MACRO = re.compile(r"\\(?:text|textbf|textrm|textnormal|mathrm|mathbf|mbox)\s*\{([^{}]*)\}")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°")
_NA = re.compile(r"n\s*/?\s*a|n\s*\.\s*a\s*\.?")


def _unwrap_math(s: str) -> str:
    """Strip surrounding ``$...$``, ``\\(...\\)``, ``\\[...\\]`` (repeatedly) and whitespace.
    Linear: the loop moves two indices inward and slices once at the end."""
    lo, hi = _strip_span(s, 0, len(s))
    changed = True
    while changed:
        changed = False
        for a, b in _MATH_DELIMS:
            if hi - lo >= len(a) + len(b) and s.startswith(a, lo) and s.endswith(b, lo, hi):
                if b == "$" and s.endswith("\\$", lo, hi):
                    continue
                lo, hi = _strip_span(s, lo + len(a), hi - len(b))
                changed = True
    return s[lo:hi]


def _peel_braces(s: str) -> str:
    """``s`` without surrounding brace groups: ``{{-5}}`` -> ``-5``; ``{1}{2}`` stays (linear)."""
    lo, hi = _strip_span(s, 0, len(s))
    pairs = _brace_pairs(s, lo, hi)
    while hi - lo >= 2 and pairs.get(lo) == hi - 1:
        lo, hi = _strip_span(s, lo + 1, hi - 1)
    return s[lo:hi]


def is_na(answer: str | None) -> bool:
    """Whether ``answer`` declares "not attempted": NA, N/A, N.A., ``\\text{NA}``,
    ``\\mathrm{N/A}`` ..., any case, any spacing. ``None`` (no answer at all) is not NA, and neither
    is "NaN" (a number-like answer, graded like any other) or "none" (a legitimate answer). An
    answer over ``MAX_ANSWER_CHARS`` characters is not NA either (and is not read)."""
    if answer is None or len(answer) > MAX_ANSWER_CHARS:
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
# A plain number; SI/ISO digit groups "1 000 000" (single spaces, 3-digit groups) like "1,000".
_PLAIN = re.compile(rf"\d{{1,3}}(?: \d{{3}})+(?:\.\d+)?|{_NUM}")
_INT_ARG = r"(?:\{\s*(\d+)\s*\}|(\d))"
# A mixed number "4 4/9", "4\frac{4}{9}", "2\frac12": whole + proper fraction (checked on reading).
_MIXED = re.compile(rf"(\d+)(?:\s+(\d+)\s*/\s*(\d+)|\s*\\frac\s*{_INT_ARG}\s*{_INT_ARG})")
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


@dataclass(frozen=True)
class _Num:
    """A number read exactly from an answer, with how it was written."""

    value: Fraction
    places: int | None = None  # digits after the point, when written as one decimal literal
    sig: int = 0  # significant digits of that decimal literal ("0.0833" has 3)
    percent: bool = False  # written with a trailing % (or the word "percent")
    shift: int = 0  # value = the literal / 10**shift (2 once a % is read as /100)

    def per_cent(self) -> _Num:
        """The value the % sign means: ``10\\%`` -> ``0.10`` (two more decimal places)."""
        places = None if self.places is None else self.places + 2
        return _Num(self.value / 100, places, self.sig, shift=self.shift + 2)


def _is_unit(words: str, bare: bool) -> bool:
    for word in words.split():
        word = word.replace(".", "").replace("'", "").lower()
        if word in _NOT_UNITS or (bare and len(word) < 4 and word not in _SHORT_UNITS):
            return False
    return True


def _strip_units(s: str) -> tuple[str, bool]:
    """Drop trailing units: ``\\text{ cm}^2``, ``\\mbox{...}``, ``^\\circ``, ``%``, unit words;
    and whether a percent (``%``, ``\\%``, "percent") was among them."""
    percent = False
    while True:
        before = s
        m = _UNIT_TEXT.search(s)
        if m and _is_unit(m.group(1), bare=False):
            percent |= m.group(1).strip().lower() == "percent"
            s = s[: m.start()]
        s, n = _PERCENT.subn("", s)
        percent |= n > 0
        s = _DEGREE_TAIL.sub("", s)
        m = _UNIT_WORD.search(s)
        if m and _is_unit(m.group(1), bare=True):
            percent |= m.group(1).lower() == "percent"
            s = s[: m.start()]
        if s == before:
            return s.strip(), percent


def _frac_num(text: str) -> Fraction:
    return Fraction(text.replace(",", "").replace(" ", ""))


def _read_body(body: str, mixed: bool) -> _Num | None:
    """The unsigned number ``body`` spells exactly, else None."""
    if fm := _FRAC.fullmatch(body):
        return _Num(_frac_num(fm.group(1) or fm.group(2)) / _frac_num(fm.group(3) or fm.group(4)))
    if sm := _SLASH.fullmatch(body):
        return _Num(_frac_num(sm.group(1)) / _frac_num(sm.group(2)))
    if _PLAIN.fullmatch(body):
        if "." not in body:
            return _Num(_frac_num(body))
        places = len(body) - body.index(".") - 1
        sig = len(re.sub(r"[^0-9]", "", body).lstrip("0"))
        return _Num(_frac_num(body), places, sig)
    if mixed and (mm := _MIXED.fullmatch(body)):
        num, den = (int(g) for g in mm.groups()[1:] if g is not None)
        if 0 < num < den:  # proper: "2 3/2" or "2\frac32" is no mixed number (product? never)
            return _Num(int(mm.group(1)) + Fraction(num, den))
    return None


def _read_number(s: str, *, mixed: bool = True) -> _Num | None:
    """The exact number ``s`` plainly spells (see :func:`fast_number`), or None (never a guess).
    With ``mixed``, also a mixed number ``4 4/9`` / ``4\\frac{4}{9}`` (whole + proper fraction, as
    latex2sympy reads ``4\\frac49``; math-verify misreads the plain ``4 4/9``)."""
    s = _unwrap_math(s).replace("\u2212", "-")
    s = re.sub("[\u00a0\u2009\u202f]", " ", s)  # no-break and thin spaces (SI digit groups)
    s = re.sub(r",\s*\\!\s*", ",", s).replace("\\!", "")  # LaTeX's ",\!" = thousands comma
    s = _SPACING.sub(" ", s)
    s = _LEFT_RIGHT.sub("", s).replace("{,}", ",").replace("\\dfrac", "\\frac")
    s = _peel_braces(s.replace("\\tfrac", "\\frac"))
    s, percent = _strip_units(s.removesuffix(".").strip())
    m = re.match(r"([+-]?)\s*(?:\\?\$)?\s*([+-]?)\s*", s)
    assert m is not None  # every part of the pattern is optional: it matches any string
    sign_a, sign_b, body = m.group(1), m.group(2), _peel_braces(s[m.end() :])
    if sign_a and sign_b:
        return None
    try:
        num = _read_body(body, mixed)
    except (ValueError, ZeroDivisionError):  # int() digit limit, x/0
        return None
    if num is None:
        return None
    value = -num.value if "-" in (sign_a, sign_b) else num.value
    return _Num(value, num.places, num.sig, percent)


def fast_number(s: str) -> Fraction | None:
    """The exact value of ``s`` when it is plainly a number, else None (never a guess).

    Accepts integers (leading zeros, ``1,000`` with 3-digit groups only: ``1,2`` is a tuple; SI
    groups ``1 000``), decimals (exact), signs, ``\\$``/``$``, trailing ``%``/units/``^\\circ``,
    ``\\frac{a}{b}``, ``\\dfrac``, ``\\tfrac``, ``\\frac12``, ``a/b``, surrounding ``$...$``/braces,
    ``\\left(``. A comma-grouped "70,110" reads as 70110 (one number); mixed numbers like
    ``2\\frac12`` -> None here (the grader reads them, see :func:`_read_number`).
    """
    num = _read_number(s, mixed=False)
    return None if num is None else num.value


def _terminates(q: Fraction) -> bool:
    """Whether ``q`` has a finite decimal expansion (its denominator is 2^a 5^b)."""
    d = q.denominator
    d >>= (d & -d).bit_length() - 1
    while d % 5 == 0:
        d //= 5
    return d == 1


def _renders(d: _Num, q: Fraction) -> bool:
    """Whether the decimal literal ``d`` stands for the non-terminating ``q`` at double precision:
    at least ``DBL_DIG`` significant digits, and either ``q`` truncated or rounded to ``d``'s last
    place (``0.6666666666666666``, ``0.6666666666666667`` for ``2/3``) or the same IEEE double as
    ``q`` (how a program prints ``q``: ``33.333333333333336`` for ``100/3``). Fewer digits are an
    approximation, not the answer; so is any other last digit (``0.3333333333333334``)."""
    if d.places is None or d.sig < DBL_DIG or _terminates(q):
        return False
    scaled = q * 10**d.places  # never a half-integer: q does not terminate
    if d.value * 10**d.places in (int(scaled), round(scaled)):  # int(): truncation toward 0
        return True
    try:  # in the literal's own units: "33.333333333333336\\%" prints 100/3, not 1/3
        return float(d.value * 10**d.shift) == float(q * 10**d.shift)
    except OverflowError:
        return False


def _same(a: _Num, b: _Num) -> bool:
    return a.value == b.value or _renders(a, b.value) or _renders(b, a.value)


def _numbers_match(gold: _Num, pred: _Num) -> bool:
    """The ``exact-number`` rule. Same units (both or neither with %): :func:`_same`. A % on one
    side only: the sign dropped, values equal (MATH's convention: a gold ``44\\%`` asks for 44, so
    ``0.44`` is wrong), or the prediction's ``10\\%`` read as ``0.1`` against a plain gold."""
    if gold.percent == pred.percent:
        return _same(gold, pred)
    if gold.value == pred.value:
        return True
    return pred.percent and _same(gold, pred.per_cent())


# ---------------------------------------------------------------- the fast path


def _fast_grade(gold: str, pred: str) -> Grade | tuple[str, str]:
    """A Grade when no sympy is needed, else the (gold, pred) answer pair for math-verify."""
    if len(pred) > MAX_INPUT_CHARS or len(gold) > MAX_INPUT_CHARS:
        return Grade(False, "too-long")  # checked before any scan, so every call is bounded
    g, p = extract_answer(gold), extract_answer(pred)
    if is_na(p):
        return Grade(False, "na")
    if not p or not g:
        return Grade(False, "empty")
    if len(p) > MAX_ANSWER_CHARS or len(g) > MAX_ANSWER_CHARS:
        return Grade(False, "too-long")
    if _normalise(g) == _normalise(p):
        return Grade(True, "exact-string")
    ng, np_ = _read_number(g), _read_number(p)
    if ng is not None and np_ is not None:
        return Grade(_numbers_match(ng, np_), "exact-number")
    return _unwrap_math(g), _unwrap_math(p)
