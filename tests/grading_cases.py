"""Grading cases on real gold answers: (data file, row id, gold, prediction, expected correct).

Every gold is the ``answer`` of that row in ``../shared/data/<file>`` (test_grading.py checks it),
so the table stays honest. Predictions are what a model might write: other spellings of the same
answer (expected True) and near misses (expected False).
"""

GSM8K = "gsm8k/test.jsonl"
MATH = "math/test.jsonl"
MATH500 = "math500/test.jsonl"
AIME = "aime24/test.jsonl"

CASES: list[tuple[str, str, str, str, bool]] = [
    # --- plain integers, currency, units, thousands separators, leading zeros (GSM8K, AIME)
    (GSM8K, "gsm8k-test-00000", "18", "18", True),
    (GSM8K, "gsm8k-test-00000", "18", "\\$18", True),
    (GSM8K, "gsm8k-test-00000", "18", "18 dollars", True),
    (GSM8K, "gsm8k-test-00000", "18", "18.00", True),
    (GSM8K, "gsm8k-test-00000", "18", "She makes $18$ dollars, so \\boxed{18}.", True),
    (GSM8K, "gsm8k-test-00000", "18", "\\boxed{\\boxed{18}}", True),
    (GSM8K, "gsm8k-test-00000", "18", "so \\boxed{16} first, then \\boxed{19}", False),
    (GSM8K, "gsm8k-test-00002", "70000", "70,000", True),
    (GSM8K, "gsm8k-test-00002", "70000", "\\$70,000", True),
    (GSM8K, "gsm8k-test-00002", "70000", "7000", False),
    (GSM8K, "gsm8k-test-00002", "70000", "70,00", False),  # not a valid thousands grouping
    (GSM8K, "gsm8k-test-00729", "1000", "100", False),
    (GSM8K, "gsm8k-test-00729", "1000", "1,000", True),
    (GSM8K, "gsm8k-test-00077", "100", "1000", False),
    (GSM8K, "gsm8k-test-00489", "-10", "-10", True),
    (GSM8K, "gsm8k-test-00489", "-10", "10", False),
    (GSM8K, "gsm8k-test-00489", "-10", "$-10$", True),
    (AIME, "aime24-I-02", "25", "025", True),
    (AIME, "aime24-I-02", "25", "The answer is $\\boxed{025}$.", True),
    (AIME, "aime24-I-02", "25", "52", False),
    (AIME, "aime24-I-01", "204", "204.0", True),
    # --- NA is always wrong, whatever the gold
    (GSM8K, "gsm8k-test-00000", "18", "NA", False),
    (AIME, "aime24-I-01", "204", "<predicted_level>Level-3</predicted_level> \\boxed{NA}", False),
    (MATH, "test/algebra/2.json", "\\frac{1}{2}", "\\boxed{\\text{NA}}", False),
    (MATH, "test/algebra/2.json", "\\frac{1}{2}", "N/A", False),
    # --- fractions: \frac vs \dfrac vs \tfrac vs a/b vs decimal
    (MATH, "test/algebra/2.json", "\\frac{1}{2}", "\\dfrac{1}{2}", True),
    (MATH, "test/algebra/2.json", "\\frac{1}{2}", "1/2", True),
    (MATH, "test/algebra/2.json", "\\frac{1}{2}", "0.5", True),
    (MATH, "test/algebra/2.json", "\\frac{1}{2}", "\\frac12", True),
    (MATH, "test/algebra/2.json", "\\frac{1}{2}", "\\frac{2}{4}", True),
    (MATH, "test/algebra/2.json", "\\frac{1}{2}", "so $x = $ \\boxed{\\frac{1}{2}}.", True),
    (MATH, "test/algebra/2.json", "\\frac{1}{2}", "\\frac{1}{3}", False),
    (MATH, "test/algebra/2.json", "\\frac{1}{2}", "1/3", False),
    (MATH, "test/algebra/132.json", "-\\frac{1}{2}", "-0.5", True),
    (MATH, "test/algebra/132.json", "-\\frac{1}{2}", "\\frac{-1}{2}", True),
    (MATH, "test/algebra/132.json", "-\\frac{1}{2}", "\\frac{1}{2}", False),
    (MATH, "test/algebra/270.json", "\\dfrac{3}{7}", "3/7", True),
    (MATH, "test/algebra/270.json", "\\dfrac{3}{7}", "0.428571", False),  # exact answers only
    (MATH, "test/algebra/540.json", "-\\dfrac{4}{25}", "-0.16", True),
    (MATH, "test/algebra/260.json", "\\tfrac{10}{3}", "\\frac{10}{3}", True),
    (MATH, "test/algebra/260.json", "\\tfrac{10}{3}", "3.33", False),
    (MATH500, "test/number_theory/410.json", ".35625", "0.35625", True),
    (MATH500, "test/number_theory/410.json", ".35625", "\\frac{57}{160}", True),
    # --- radicals
    (MATH, "test/geometry/274.json", "\\frac{\\sqrt{2}}{2}", "\\frac{\\sqrt2}{2}", True),
    (MATH, "test/geometry/274.json", "\\frac{\\sqrt{2}}{2}", "\\sqrt{2}/2", True),
    (MATH, "test/geometry/274.json", "\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", True),
    (MATH, "test/geometry/274.json", "\\frac{\\sqrt{2}}{2}", "\\sqrt{2}", False),
    (MATH, "test/algebra/184.json", "3\\sqrt{2}", "\\sqrt{18}", True),
    (MATH, "test/geometry/91.json", "\\sqrt{3}", "3", False),
    (MATH, "test/geometry/91.json", "\\sqrt{3}", "\\sqrt3", True),
    # --- pi
    (MATH, "test/algebra/326.json", "26\\pi", "26 \\pi", True),
    (MATH, "test/algebra/326.json", "26\\pi", "\\pi \\cdot 26", True),
    (MATH, "test/algebra/326.json", "26\\pi", "26", False),
    (MATH, "test/counting_and_probability/969.json", "\\frac{\\pi}{4}", "\\pi/4", True),
    (MATH, "test/counting_and_probability/969.json", "\\frac{\\pi}{4}", "\\frac{1}{4}\\pi", True),
    (MATH, "test/counting_and_probability/969.json", "\\frac{\\pi}{4}", "\\frac{\\pi}{2}", False),
    # --- intervals and unions
    (MATH, "test/algebra/628.json", "[6,\\infty)", "[6, \\infty)", True),
    (MATH, "test/algebra/628.json", "[6,\\infty)", "(6,\\infty)", False),
    (MATH, "test/algebra/2482.json", "[0,1)", "[0, 1)", True),
    (MATH, "test/algebra/2482.json", "[0,1)", "[0,1]", False),
    (
        MATH,
        "test/algebra/318.json",
        "(-\\infty,0)\\cup (0,\\infty)",
        "(-\\infty, 0) \\cup (0, \\infty)",
        True,
    ),
    (MATH, "test/algebra/318.json", "(-\\infty,0)\\cup (0,\\infty)", "(-\\infty, \\infty)", False),
    (MATH500, "test/intermediate_algebra/558.json", "(3,4]", "(3,4)", False),
    # --- tuples / ordered pairs
    (MATH, "test/algebra/44.json", "(1,4)", "(1, 4)", True),
    (MATH, "test/algebra/44.json", "(1,4)", "\\left(1, 4\\right)", True),
    (MATH, "test/algebra/44.json", "(1,4)", "(4,1)", False),
    (MATH, "test/algebra/77.json", "(1,-2)", "(-2,1)", False),
    (MATH500, "test/intermediate_algebra/956.json", "(6,31,-1)", "(6, 31, -1)", True),
    (MATH500, "test/intermediate_algebra/956.json", "(6,31,-1)", "(6,-1,31)", False),
    # --- unordered answer lists
    (MATH500, "test/intermediate_algebra/1388.json", "1,-2", "-2, 1", True),
    (MATH500, "test/intermediate_algebra/1388.json", "1,-2", "1, 2", False),
    (MATH500, "test/intermediate_algebra/428.json", "3, 5, 7", "7,5,3", True),
    # --- matrices and vectors
    (
        MATH,
        "test/precalculus/12.json",
        "\\begin{pmatrix} 11 \\\\ -36 \\\\ -3 \\end{pmatrix}",
        "\\begin{pmatrix}11\\\\-36\\\\-3\\end{pmatrix}",
        True,
    ),  # noqa: E501
    (
        MATH,
        "test/precalculus/12.json",
        "\\begin{pmatrix} 11 \\\\ -36 \\\\ -3 \\end{pmatrix}",
        "\\begin{pmatrix} 11 \\\\ -36 \\\\ 3 \\end{pmatrix}",
        False,
    ),  # noqa: E501
    (
        MATH,
        "test/precalculus/26.json",
        "\\begin{pmatrix} 5/3 \\\\ 5/3 \\\\ 4/3 \\end{pmatrix}",
        "\\begin{pmatrix} \\frac{5}{3} \\\\ \\frac{5}{3} \\\\ \\frac{4}{3} \\end{pmatrix}",
        True,
    ),  # noqa: E501
    (
        MATH,
        "test/precalculus/67.json",
        "\\begin{pmatrix} 7 & 1 \\\\ -1 & -3 \\end{pmatrix}",
        "\\begin{pmatrix} 7 & -1 \\\\ 1 & -3 \\end{pmatrix}",
        False,
    ),  # noqa: E501
    # --- percentages (the number before %: "0.44" is not "44\%", as in the MATH grader)
    (MATH, "test/algebra/1820.json", "44\\%", "44", True),
    (MATH, "test/algebra/1820.json", "44\\%", "44%", True),
    (MATH, "test/algebra/1820.json", "44\\%", "45\\%", False),
    (MATH, "test/algebra/1820.json", "44\\%", "44 percent", True),
    (MATH, "test/algebra/1820.json", "44\\%", "0.44", False),
    (MATH, "test/geometry/1032.json", "7.2\\%", "7.2", True),
    # --- units
    (MATH, "test/algebra/82.json", "1599 \\text{ dollars}", "1599", True),
    (MATH, "test/algebra/82.json", "1599 \\text{ dollars}", "\\$1,599", True),
    (MATH, "test/algebra/82.json", "1599 \\text{ dollars}", "1600", False),
    (MATH, "test/algebra/2091.json", "440\\text{ cm}^2", "440", True),
    (MATH, "test/geometry/60.json", "144 \\mbox{ m}^3", "144 \\text{ m}^3", True),
    (MATH, "test/algebra/137.json", "575\\text{ students}", "575 students", True),
    # --- dollars and thousands separators as MATH writes them
    (MATH, "test/algebra/155.json", "\\$15,\\!000", "15000", True),
    (MATH, "test/algebra/155.json", "\\$15,\\!000", "\\$15,000", True),
    (MATH, "test/algebra/155.json", "\\$15,\\!000", "1500", False),
    (MATH, "test/algebra/794.json", "\\$76.80", "76.8", True),
    (MATH, "test/algebra/1755.json", "\\$16,\\!386.16", "16386.16", True),
    (MATH, "test/counting_and_probability/575.json", "15,600", "15600", True),
    (MATH, "test/counting_and_probability/575.json", "15,600", "1560", False),
    (MATH, "test/number_theory/37.json", "90{,}900{,}909", "90900909", True),
    (MATH, "test/counting_and_probability/124.json", "371,\\!043,\\!400", "371043400", True),
    (MATH500, "test/number_theory/417.json", "11,\\! 111,\\! 111,\\! 100", "11111111100", True),
    # --- negatives
    (MATH, "test/algebra/21.json", "-8", "- 8", True),
    (MATH, "test/algebra/21.json", "-8", "8", False),
    # --- degrees
    (MATH, "test/geometry/37.json", "25^\\circ", "25", True),
    (MATH, "test/geometry/37.json", "25^\\circ", "25^{\\circ}", True),
    (MATH, "test/geometry/37.json", "25^\\circ", "25 degrees", True),
    (MATH, "test/geometry/37.json", "25^\\circ", "26^\\circ", False),
    (MATH, "test/geometry/1077.json", "69\\text{ degrees}", "69^\\circ", True),
    (MATH, "test/prealgebra/1003.json", "\\frac{270}7\\text{ degrees}", "\\frac{270}{7}", True),
    (MATH, "test/prealgebra/1003.json", "\\frac{270}7\\text{ degrees}", "38.57", False),
    # --- text answers and multiple choice
    (MATH, "test/algebra/2687.json", "\\text{(C)}", "C", True),
    (MATH, "test/algebra/2687.json", "\\text{(C)}", "(C)", True),
    (MATH, "test/algebra/2687.json", "\\text{(C)}", "\\text{(D)}", False),
    (MATH, "test/algebra/1349.json", "\\text{Evelyn}", "Evelyn", True),
    (MATH, "test/algebra/1349.json", "\\text{Evelyn}", "\\text{Emily}", False),
    (MATH, "test/number_theory/880.json", "\\mbox{Saturday}", "\\text{Saturday}", True),
    (MATH, "test/number_theory/880.json", "\\mbox{Saturday}", "Sunday", False),
    # --- expressions and complex numbers
    (MATH, "test/algebra/851.json", "-\\sqrt{x-2}+2", "2-\\sqrt{x-2}", True),
    (MATH, "test/algebra/851.json", "-\\sqrt{x-2}+2", "\\sqrt{x-2}+2", False),
    (MATH, "test/algebra/2688.json", "x^2 + 10x + 25", "(x+5)^2", True),
    (MATH500, "test/precalculus/779.json", "-2 + 7i", "7i - 2", True),
    (MATH500, "test/precalculus/779.json", "-2 + 7i", "-2 - 7i", False),
    (MATH, "test/algebra/2688.json", "x^2 + 10x + 25", "x^2+10x+26", False),
    (MATH, "test/intermediate_algebra/253.json", "y = 2x", "2x", True),
    (
        MATH500,
        "test/intermediate_algebra/662.json",
        "1 \\pm \\sqrt{19}",
        "1+\\sqrt{19}, 1-\\sqrt{19}",
        True,
    ),  # noqa: E501
    (MATH500, "test/intermediate_algebra/128.json", "\\text{even}", "\\text{odd}", False),
    (MATH, "test/algebra/1900.json", "9\\text{ a.m.}", "9 a.m.", True),
    (GSM8K, "gsm8k-test-00000", "18", "18 eggs", True),
    # "Enter all the solutions, separated by commas": this gold is the list {70, 110}
    (MATH, "test/precalculus/528.json", "70,110", "70, 110", True),
]
