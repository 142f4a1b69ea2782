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

Model output is untrusted: sympy never runs in this process; math-verify runs in the worker
pool of :mod:`roi_reasoning.grading_pool`. ``grade``/``grade_many`` use its lazily created
module-level pool, closed at exit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from importlib import metadata

_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")

MAX_ANSWER_CHARS = 1000  # characters of the extracted answer; MATH golds are under 200
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


def grade(gold: str, pred: str, *, timeout: float = 5.0) -> Grade:
    """Grade ``pred`` (bare answer or whole response) against ``gold`` on the default pool."""
    from roi_reasoning.grading_pool import default_pool

    return default_pool().grade(gold, pred, timeout=timeout)


def grade_many(
    pairs: list[tuple[str, str]], *, timeout: float = 5.0, workers: int | None = None
) -> list[Grade]:
    """Grade (gold, pred) pairs on the default pool, in parallel, results in input order."""
    from roi_reasoning.grading_pool import default_pool

    return default_pool(workers).grade_many(pairs, timeout=timeout, workers=workers)
