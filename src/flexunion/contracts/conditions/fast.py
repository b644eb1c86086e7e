"""A condition the CEL checker accepted, as a Python function (pure).

A call into cel-expr-python costs ~3–4 µs, some 40× the same rule written in Python
(docs/contracts.md, bench/conditions.py). For the subset of CEL the clause conditions use —
literals (int, double, bool, plain strings), the schema's variables by qualified name,
`! -` (unary), `* / % + -`, `< <= > >= == !=`, `in` over a list, list literals, `&&`, `||`
and parentheses — `translate(source, schema, reads)` builds a Python function over the
flattened evidence giving the answer and the value of every variable read, each read once;
anything else (a macro, a function, `? :`, an escape in a string, unsigned or hex numbers,
`null` …) gives None and the engine keeps evaluating with cel-expr-python.

Only expressions the official checker accepted are translated, so names and types are
known to fit. Where Python and CEL could differ, the translation raises instead of answering:
integer results outside int64 (CEL: overflow error), division or modulo by zero, an integer
division that Python would floor where CEL truncates (both handled by `_div`/`_mod`). The
engine's function (`fallback`: generated with the translation inside, no wrapper call)
answers every raise, and anything but a bool, by evaluating with cel-expr-python, so errors
(and how `&&`/`||` absorb them) stay CEL's. Without an error, short-circuit `and`/`or` give
CEL's answer: a false left side of `&&` is false in both, a true one of `||` true. A
property test holds the two evaluators to the same answers over generated expressions and
evidence."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<double>\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)
  | (?P<int>\d+)(?![\w.])
  | (?P<string>'[^'\\\n]*'|"[^"\\\n]*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>&&|\|\||<=|>=|==|!=|[<>!+\-*/%()\[\],])
""", re.VERBOSE)
_RELATIONS = {"<", "<=", ">", ">=", "==", "!=", "in"}
_NUMERIC = {"int", "double"}


class _Refused(Exception):
    """Outside the subset: keep the library's evaluator."""


def _tokens(source: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    at = 0
    while at < len(source):
        found = _TOKEN.match(source, at)
        if found is None or found.lastgroup is None:
            raise _Refused(at)
        at = found.end()
        if found.lastgroup != "ws":
            out.append((found.lastgroup, found.group()))
    return out


def _int(value: int) -> int:
    if not INT_MIN <= value <= INT_MAX:
        raise OverflowError("int64")
    return value


def _div(a: Any, b: Any) -> Any:
    if isinstance(a, int):
        if b == 0:
            raise ZeroDivisionError
        q = abs(a) // abs(b)
        return _int(q if (a >= 0) == (b >= 0) else -q)
    return a / b  # a double by zero raises: the library answers (±inf, NaN)


def _mod(a: int, b: int) -> int:
    if b == 0:
        raise ZeroDivisionError
    return _int(a - b * int(_div(a, b)))


class _Parser:
    """Precedence climbing over CEL's grammar for the subset; each node is (python, type)."""

    def __init__(self, tokens: list[tuple[str, str]], schema: dict[str, str],
                 local: dict[str, str]) -> None:
        self.tokens, self.at, self.schema, self.local = tokens, 0, schema, local

    def peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def take(self, text: str | None = None) -> tuple[str, str]:
        if self.at >= len(self.tokens) or (text is not None and self.tokens[self.at][1] != text):
            raise _Refused(self.at)
        self.at += 1
        return self.tokens[self.at - 1]

    def expression(self) -> tuple[str, str]:
        left = self.conjunction()
        while self.peek() == "||":
            self.take()
            right = self.conjunction()
            left = (f"({left[0]} or {right[0]})", "bool")
        return left

    def conjunction(self) -> tuple[str, str]:
        left = self.relation()
        while self.peek() == "&&":
            self.take()
            right = self.relation()
            left = (f"({left[0]} and {right[0]})", "bool")
        return left

    def relation(self) -> tuple[str, str]:
        left = self.addition()
        while self.peek() in _RELATIONS:
            op = self.take()[1]
            right = self.addition()
            left = (f"({left[0]} {op} {right[0]})", "bool")
        return left

    def addition(self) -> tuple[str, str]:
        left = self.multiplication()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            right = self.multiplication()
            left = self._arith(op, left, right)
        return left

    def multiplication(self) -> tuple[str, str]:
        left = self.unary()
        while self.peek() in ("*", "/", "%"):
            op = self.take()[1]
            right = self.unary()
            left = self._arith(op, left, right)
        return left

    @staticmethod
    def _arith(op: str, left: tuple[str, str], right: tuple[str, str]) -> tuple[str, str]:
        kind = left[1]
        if op == "/":
            return f"_div({left[0]}, {right[0]})", kind
        if op == "%":
            if kind != "int":
                raise _Refused(op)
            return f"_mod({left[0]}, {right[0]})", kind
        if kind == "int":
            return f"_int({left[0]} {op} {right[0]})", kind
        if kind not in _NUMERIC | {"string", "list<string>"} or (op != "+" and kind not in
                                                                  _NUMERIC):
            raise _Refused(op)
        return f"({left[0]} {op} {right[0]})", kind

    def unary(self) -> tuple[str, str]:
        if self.peek() == "!":
            self.take()
            inner = self.unary()
            if inner[1] != "bool":  # CEL's parser drops a pair of `!`: `!!s in l` is `s in l`
                raise _Refused("!")
            return f"(not {inner[0]})", "bool"
        if self.peek() == "-":
            self.take()
            if self.at < len(self.tokens) and self.tokens[self.at][0] in ("int", "double"):
                kind, text = self.take()
                value = -int(text) if kind == "int" else -float(text)
                if kind == "int" and not INT_MIN <= int(value) <= INT_MAX:
                    raise _Refused(text)
                return repr(value), kind
            inner = self.unary()
            if inner[1] not in _NUMERIC:
                raise _Refused("-")
            if inner[1] == "int":
                return f"_int(-{inner[0]})", "int"
            return f"(-{inner[0]})", inner[1]
        return self.primary()

    def primary(self) -> tuple[str, str]:
        kind, text = self.take()
        if kind == "int":
            if int(text) > INT_MAX:
                raise _Refused(text)
            return text, "int"
        if kind == "double":
            return repr(float(text)), "double"
        if kind == "string":
            return repr(text[1:-1]), "string"
        if kind == "name":
            if text in ("true", "false"):
                return ("True" if text == "true" else "False"), "bool"
            if (text not in self.schema or text not in self.local
                    or self.peek() in ("(", "[")):
                raise _Refused(text)  # a function, macro, index, unknown or unread name
            return self.local[text], self.schema[text]
        if text == "(":
            inner = self.expression()
            self.take(")")
            return f"({inner[0]})", inner[1]
        if text == "[":
            items: list[str] = []
            while self.peek() != "]":
                item = self.expression()
                if item[1] != "string":
                    raise _Refused(text)
                items.append(item[0])
                if self.peek() != "]":
                    self.take(",")
            self.take("]")
            return "[" + ", ".join(items) + "]", "list<string>"
        raise _Refused(text)


def translate(source: str, schema: dict[str, str], reads: tuple[str, ...] | None = None,
              fallback: Callable[[dict[str, Any]], tuple[bool, dict[str, Any]]] | None = None,
              ) -> Callable[[dict[str, Any]], tuple[Any, dict[str, Any]]] | None:
    """The checked condition as `f(flat_evidence) → (answer, {variable: value read})`, or
    None outside the subset. `reads` are the variables the engine found the condition to
    refer to (default: every name of the schema); each is read from the evidence once, and
    a name the translation meets outside `reads` gives no translation. Without `fallback`
    the function raises where Python and CEL could differ (and a missing variable is a
    KeyError); with it, every raise and every answer that is not a bool is `fallback(v)`'s
    instead (the engine's: cel-expr-python), in the one call."""
    if reads is None:
        reads = tuple(schema)
    local = {name: f"_{i}" for i, name in enumerate(reads)}
    try:
        parser = _Parser(_tokens(source), schema, local)
        code, kind = parser.expression()
        if parser.at != len(parser.tokens) or kind != "bool":
            return None
    except (_Refused, ValueError):
        return None
    # Built only from this parser's own output: names are repr()-quoted dict keys read into
    # numbered locals, literals repr()s of parsed values; no text of the condition reaches
    # the code otherwise.
    loads = "".join(f"        {local[n]} = v[{n!r}]\n" for n in reads)
    read = "{" + ", ".join(f"{n!r}: {local[n]}" for n in reads) + "}"
    if fallback is None:
        text = ("def _condition(v):\n" + "".join(f"    {local[n]} = v[{n!r}]\n" for n in reads)
                + f"    return ({code}), {read}\n")
    else:
        text = ("def _condition(v):\n    try:\n" + loads + f"        _r = ({code})\n"
                "    except (ArithmeticError, KeyError, TypeError):\n"
                "        return _fallback(v)\n"
                f"    if _r is True or _r is False:\n        return _r, {read}\n"
                "    return _fallback(v)\n")
    scope: dict[str, Any] = {"_int": _int, "_div": _div, "_mod": _mod, "_fallback": fallback,
                             "ArithmeticError": ArithmeticError, "KeyError": KeyError,
                             "TypeError": TypeError, "__builtins__": {}}
    exec(text, scope)  # see above: only the parser's own output
    function: Callable[[dict[str, Any]], tuple[Any, dict[str, Any]]] = scope["_condition"]
    return function
