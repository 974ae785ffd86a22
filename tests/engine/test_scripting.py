"""The script sandbox runs ordinary analyst code and refuses every known way out of it."""

from __future__ import annotations

import textwrap
import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine.errors import EngineError
from engine.scripting import Sandbox, SandboxError

ELEMENT = "calc_total"


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(time_limit=0.2)


def run(sandbox: Sandbox, script: str, **variables: Any) -> dict[str, Any]:
    context = dict(variables)
    sandbox.execute(textwrap.dedent(script), context, element_id=ELEMENT)
    return context


def refused(sandbox: Sandbox, script: str, **variables: Any) -> SandboxError:
    with pytest.raises(SandboxError) as caught:
        run(sandbox, script, **variables)
    return caught.value


# Ordinary scripts ----------------------------------------------------------------------------


def test_assignments_land_in_context(sandbox: Sandbox) -> None:
    result = run(sandbox, "total = amount * 2\nlabel = 'big' if total > 10 else 'small'", amount=7)
    assert result == {"amount": 7, "total": 14, "label": "big"}


def test_loops_comprehensions_and_collections(sandbox: Sandbox) -> None:
    script = """
    totals = {}
    for line in lines:
        totals[line['sku']] = totals.get(line['sku'], 0) + line['qty']
    skus = sorted(k for k, v in totals.items() if v > 1)
    squares = [n * n for n in range(5)]
    unique = {n % 3 for n in range(10)}
    count = 0
    while count < 3:
        count += 1
    names = ', '.join(str(s) for s in skus)
    """
    lines = [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}, {"sku": "A", "qty": 1}]
    result = run(sandbox, script, lines=lines)
    assert result["totals"] == {"A": 3, "B": 1}
    assert result["skus"] == ["A"]
    assert result["squares"] == [0, 1, 4, 9, 16]
    assert result["unique"] == {0, 1, 2}
    assert result["count"] == 3
    assert result["names"] == "A"


def test_datetime_decimal_math_and_fstrings(sandbox: Sandbox) -> None:
    script = """
    due = datetime.strptime(ordered, '%Y-%m-%d') + timedelta(days=30)
    late = date(2024, 3, 1) > due.date()
    net = (Decimal(price) * 3).quantize(Decimal('0.01'))
    root = math.sqrt(16) + math.floor(2.7)
    text = f"{customer['name']!r} owes {net:>8} by {due:%d.%m.%Y}"
    """
    result = run(sandbox, script, ordered="2024-01-15", price="19.99", customer={"name": "Ada"})
    assert result["due"] == datetime(2024, 2, 14)
    assert result["late"] is True
    assert result["net"] == Decimal("59.97")
    assert result["root"] == 6.0
    assert result["text"] == "'Ada' owes    59.97 by 14.02.2024"


def test_try_except_and_small_functions(sandbox: Sandbox) -> None:
    script = """
    def discount(amount, rate=0.1):
        return round(amount * (1 - rate), 2)

    def factorial(n):
        return 1 if n < 2 else n * factorial(n - 1)

    try:
        missing = data['nope']
    except KeyError:
        missing = None
    try:
        ratio = 1 / 0
    except (ZeroDivisionError, ValueError) as exc:
        ratio = str(exc)
    price = discount(100)
    fact = factorial(10)
    double = (lambda x: x * 2)(21)
    kinds = [isinstance(v, (int, float)) for v in (1, 2.5, 'x')]
    lowered = sorted(['b', 'A', 'c'], key=str.lower)
    """
    result = run(sandbox, script, data={})
    assert result["missing"] is None
    assert result["ratio"] == "division by zero"
    assert result["price"] == 90.0
    assert result["fact"] == 3628800
    assert result["double"] == 42
    assert result["kinds"] == [True, True, False]
    assert result["lowered"] == ["A", "b", "c"]


def test_functions_builtins_and_helpers_do_not_land_in_context(sandbox: Sandbox) -> None:
    script = """
    def helper():
        return 1
    square = lambda x: x * x
    for _ in range(2):
        value = helper() + square(3) * 2
    """
    result = run(sandbox, script)
    assert result == {"value": 19}


def test_del_removes_a_variable(sandbox: Sandbox) -> None:
    assert run(sandbox, "del scratch\nkept = 1", scratch=5) == {"kept": 1}


def test_extra_globals_are_available_but_not_returned() -> None:
    sandbox = Sandbox(extra_globals={"vat": lambda amount: amount * Decimal("0.2")})
    result = run(sandbox, "tax = vat(Decimal('10'))")
    assert result == {"tax": Decimal("2.0")}


def test_evaluate_conditions(sandbox: Sandbox) -> None:
    context = {"amount": 1500, "tier": "gold", "items": [1, 5, 9]}
    assert sandbox.evaluate('amount > 1000 and tier == "gold"', context) is True
    assert sandbox.evaluate("any(i > 8 for i in items) and len(items) == 3", context) is True
    assert sandbox.evaluate("[i * limit for i in items]", {**context, "limit": 2}) == [2, 10, 18]
    assert sandbox.evaluate("date(2024, 1, 1) + timedelta(days=1)", {}) == date(2024, 1, 2)
    assert context == {"amount": 1500, "tier": "gold", "items": [1, 5, 9]}


def test_check_accepts_valid_source_at_deploy_time(sandbox: Sandbox) -> None:
    sandbox.check("x = [i for i in range(3)]", mode="exec", element_id=ELEMENT)
    sandbox.check("amount > 10", mode="eval", element_id="flow_1")


# Known escapes -------------------------------------------------------------------------------

ESCAPES = [
    ("().__class__.__mro__[1].__subclasses__()", "'__"),
    ("__import__('os').system('id')", "name '__import__' is not allowed"),
    ("getattr(x, '__cla' + 'ss__')", "name 'getattr' is not allowed"),
    ("'{0.__class__.__mro__}'.format(1)", "attribute 'format' is not allowed"),
    ("'{a.__globals__}'.format_map({'a': f})", "attribute 'format_map' is not allowed"),
    ("(x for x in ()).gi_frame.f_globals", "attribute 'f_globals' is not allowed"),
    ("g = (x for x in [1])\nframe = g.gi_frame", "attribute 'gi_frame' is not allowed"),
    ("def gen():\n    yield 1\nframe = gen().gi_frame", "'yield' is not allowed"),
    ("f = lambda: 0\nleak = f.__globals__", "attribute '__globals__' is not allowed"),
    ("[c for c in ().__class__.__base__.__subclasses__()]", "attribute '__"),
    ("type(1)", "name 'type' is not allowed"),
    ("open('/etc/passwd')", "name 'open' is not allowed"),
    ("eval('1')", "name 'eval' is not allowed"),
    ("exec('x=1')", "name 'exec' is not allowed"),
    ("compile('1', 'f', 'eval')", "name 'compile' is not allowed"),
    ("globals()", "name 'globals' is not allowed"),
    ("import os", "import of 'os' is not allowed"),
    ("from os import path", "import of 'os' is not allowed"),
    ('f"{().__class__}"', "attribute '__class__' is not allowed"),
    ("x.__dict__", "attribute '__dict__' is not allowed"),
    ("print.__self__", "attribute '__self__' is not allowed"),
    ("datetime.__class__", "attribute '__class__' is not allowed"),
    ("Decimal.__init__.__globals__", "attribute '__"),
    ("os.system('id')", "name 'os' is not allowed: imports are not available"),
    ("class Evil:\n    pass", "class definitions are not allowed"),
    ("x = 1\nglobal y", "'global' is not allowed"),
    ("p = x.f_back", "attribute 'f_back' is not allowed"),
    ("p = x.mro()", "attribute 'mro' is not allowed"),
    ("try:\n    pass\nexcept:\n    pass", "bare 'except:' is not allowed"),
    ("def f():\n    try:\n        pass\n    finally:\n        return 1",
     "'return' inside 'finally' is not allowed"),
    ("x.attr = 1", "assigning or deleting attribute 'attr' is not allowed"),
    ("with x:\n    pass", "'with' blocks are not allowed"),
    ("async def f():\n    pass", "async code is not allowed"),
]


@pytest.mark.parametrize(("payload", "fragment"), ESCAPES)
def test_escape_is_refused_with_element_line_and_reason(
    sandbox: Sandbox, payload: str, fragment: str
) -> None:
    err = refused(sandbox, "ok = 1\n" + payload, x=1, f=1)
    assert err.element_id == ELEMENT
    assert err.line is not None and err.line >= 2
    assert "not allowed" in err.message
    assert fragment in err.message
    assert str(err).startswith(f"script '{ELEMENT}' line {err.line}: ")
    assert err.code == "script_error" and isinstance(err, EngineError)


@pytest.mark.parametrize(("payload", "fragment"), ESCAPES[:6] + ESCAPES[10:16] + ESCAPES[18:24])
def test_escape_is_refused_at_deploy_time(sandbox: Sandbox, payload: str, fragment: str) -> None:
    with pytest.raises(SandboxError, match="not allowed") as caught:
        sandbox.check(payload, mode="eval", element_id="flow_7")
    assert fragment in caught.value.message
    assert str(caught.value).startswith("expression 'flow_7' line 1: ")


def test_example_message_reads_like_a_sentence(sandbox: Sandbox) -> None:
    err = refused(sandbox, "a = 1\nb = 2\nos.system('id')")
    assert str(err) == (
        "script 'calc_total' line 3: name 'os' is not allowed: imports are not available in "
        "scripts; the engine provides the helpers you can use"
    )


# Limits --------------------------------------------------------------------------------------


def test_endless_loop_hits_the_time_limit(sandbox: Sandbox) -> None:
    err = refused(sandbox, "n = 0\nwhile True:\n    n += 1")
    assert "took longer than 0.2 s" in err.message
    assert err.line == 3


def test_time_limit_cannot_be_swallowed_by_except(sandbox: Sandbox) -> None:
    script = """
    try:
        while True:
            pass
    except Exception:
        escaped = True
    """
    err = refused(sandbox, script)
    assert "took longer than" in err.message


def test_endless_comprehension_hits_the_time_limit(sandbox: Sandbox) -> None:
    err = refused(sandbox, "x = [a for a in range(10**6) for b in range(10**6)]")
    assert "took longer than" in err.message


@pytest.mark.parametrize(
    "script",
    [
        "def down(n):\n    return down(n + 1)\nx = down(0)",
        "down = lambda n: down(n + 1)\nx = down(0)",
    ],
)
def test_deep_recursion_fails_fast(sandbox: Sandbox, script: str) -> None:
    err = refused(sandbox, script)
    assert "recursion limit" in err.message
    assert err.line == 2 if script.startswith("def") else err.line == 1


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ("'a' * 10**9", "1,000,000,000 characters"),
        ("10**10**8", "bits"),
        ("[0] * 10**9", "1,000,000,000 elements"),
        ("list(range(10**9))", "range()"),
        ("1 << 10**9", "bits"),
        ("str([[0] * 10**6] * 10**6)", "elements"),
        ("'x'.ljust(10**9)", "padding"),
        ("'-'.join(['a' * 10**5 for _ in range(100)])", "joining these strings"),
        ("('a' * 1000).replace('', 'b' * 10**4)", "replace()"),
        ("'%1000000000d' % 1", "width or precision"),
        ("f'{1:>1000000000}'", "format spec"),
        ("(1).to_bytes(10**9, 'big')", "to_bytes()"),
        ("int(Decimal('1e999999'))", "Decimal"),
        ("round(7, -10**9)", "rounding"),
        ("sum([[0] * 10**5 for _ in range(20)], [])", "joining two lists"),
    ],
)
def test_amplifiers_hit_the_size_limit(sandbox: Sandbox, payload: str, fragment: str) -> None:
    err = refused(sandbox, "ok = 1\nx = " + payload)
    assert "size limit" in err.message
    assert fragment in err.message
    assert err.line == 2


def test_doubling_in_a_loop_hits_the_size_limit(sandbox: Sandbox) -> None:
    err = refused(sandbox, "x = [1]\nfor i in range(40):\n    x += x")
    assert "size limit" in err.message and err.line == 3


def test_size_limit_is_configurable() -> None:
    sandbox = Sandbox(max_size=100)
    assert sandbox.evaluate("'a' * 100", {}) == "a" * 100
    with pytest.raises(SandboxError, match="at most 100"):
        sandbox.evaluate("'a' * 101", {})


# Errors and isolation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "line", "cause", "fragment"),
    [
        ("a = 1\nb = a / 0", 2, ZeroDivisionError, "ZeroDivisionError: division by zero"),
        ("a = 1\nb = customer", 2, NameError, "name 'customer' is not defined"),
        ("a = {}\n\nb = a['total']", 3, KeyError, "KeyError: 'total'"),
        ("def f(x):\n    return x + 'a'\nb = f(1)", 2, TypeError, "TypeError: unsupported"),
    ],
)
def test_runtime_errors_name_element_line_and_chain_the_cause(
    sandbox: Sandbox, script: str, line: int, cause: type[Exception], fragment: str
) -> None:
    err = refused(sandbox, script)
    assert (err.element_id, err.line) == (ELEMENT, line)
    assert fragment in err.message
    assert isinstance(err.__cause__, cause)
    assert err.source == script


def test_syntax_error_says_line_and_what(sandbox: Sandbox) -> None:
    err = refused(sandbox, "a = 1\nb = (2 +\n")
    assert err.line == 2
    assert err.message.startswith("syntax error: ")


def test_failed_script_leaves_context_unchanged(sandbox: Sandbox) -> None:
    context: dict[str, Any] = {"items": [1, 2], "total": 3}
    script = "total = 99\nitems.append(3)\nfresh = 1\nboom = 1 / 0"
    with pytest.raises(SandboxError):
        sandbox.execute(script, context, element_id=ELEMENT)
    assert context == {"items": [1, 2], "total": 3}


def test_expressions_cannot_assign(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError, match="':=' is not allowed"):
        sandbox.evaluate("(amount := 0) == 0", {"amount": 5}, element_id="flow_1")


def test_expression_cannot_return_a_function(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError, match="cannot leave the sandbox"):
        sandbox.evaluate("lambda: 1", {}, element_id="flow_1")


def test_variable_shadowing_a_helper_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError, match="reserved for the sandbox"):
        sandbox.evaluate("a * b", {"a": 2, "b": 3, "__bf_mul": "x"})


def test_strptime_works_but_imports_stay_closed(sandbox: Sandbox) -> None:
    assert sandbox.evaluate("datetime.strptime('2024-05-01', '%Y-%m-%d').month", {}) == 5
    err = refused(sandbox, "x = 1\nimport datetime")
    assert "imports are not available" in err.message


def test_timedelta_values_pass_through(sandbox: Sandbox) -> None:
    result = run(sandbox, "later = start + timedelta(hours=2)", start=datetime(2024, 1, 1))
    assert result["later"] - result["start"] == timedelta(hours=2)


def test_limits_are_per_thread(sandbox: Sandbox) -> None:
    script = "total = 0\nfor i in range(n):\n    total += i"
    results: list[int] = []

    def work(n: int) -> None:
        results.append(run(sandbox, script, n=n)["total"])

    threads = [threading.Thread(target=work, args=(n,)) for n in (1000, 2000, 3000, 4000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [sum(range(n)) for n in (1000, 2000, 3000, 4000)]


def test_a_helper_may_run_a_nested_script() -> None:
    inner = Sandbox()
    outer = Sandbox(extra_globals={"score": lambda x: inner.evaluate("[x * 2 for _ in [1]]",
                                                                     {"x": x})[0]})
    assert run(outer, "scores = [score(i) for i in range(3)]") == {"scores": [0, 2, 4]}
