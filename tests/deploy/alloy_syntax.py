"""A small parser for Grafana Alloy's configuration syntax (blocks, attributes, expressions).

Covers what configuration files use: `name.sub "label" { ... }` blocks, `attr = expr`,
strings, numbers, booleans, null, lists, objects, dotted references and function calls,
and `//`, `/* */` comments. Raises AlloySyntaxError with the line on anything else, operators,
indexing and parentheses included (Alloy has them; nothing here reads them).

It keeps the rules of Alloy's own parser (grafana/alloy, syntax/parser/internal.go) that a
file can break: a newline ends a statement, an element or a field after an identifier, a
literal or a closing bracket (as in Go), so statements stand on lines of their own and a list
or object spread over lines needs a comma before each newline; a block's label is an
identifier in double quotes; an attribute's name is one identifier without a label.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n]+) | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*") | (?P<raw>`[^`]*`)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[{}\[\](),=.])
""", re.X | re.S)
IDENTIFIER = re.compile(r"[^\W\d]\w*")
# A newline after one of these ends what came before it (Alloy's scanner inserts a terminator).
ENDS_BEFORE_NEWLINE = {"ident", "string", "raw", "number", ")", "]", "}"}


class AlloySyntaxError(ValueError):
    """The configuration does not parse; the message names the line."""


@dataclass
class Ref:
    """A dotted reference such as discovery.docker.containers.targets."""

    path: str


@dataclass
class Call:
    """A function call such as sys.env("X")."""

    name: str
    args: list


@dataclass
class Block:
    """A block: dotted name, optional label, attributes and nested blocks."""

    name: str
    label: str | None
    attributes: dict = field(default_factory=dict)
    blocks: list = field(default_factory=list)

    def find(self, name: str) -> list["Block"]:
        """Nested blocks called `name`."""
        return [b for b in self.blocks if b.name == name]


def tokenize(text: str) -> list[tuple[str, str, int]]:
    """(kind, value, line) tokens without whitespace and comments; ("newline", "\\n", line) where
    a newline ends a statement or an element."""
    tokens, pos = [], 0
    while pos < len(text):
        match = TOKEN.match(text, pos)
        line = text.count("\n", 0, pos) + 1
        if not match:
            raise AlloySyntaxError(f"line {line}: unexpected character {text[pos]!r}")
        kind = match.lastgroup
        if kind not in ("ws", "comment"):
            tokens.append((kind, match.group(), line))
        elif "\n" in match.group() and tokens and (tokens[-1][0] in ENDS_BEFORE_NEWLINE
                                                    or tokens[-1][1] in ENDS_BEFORE_NEWLINE):
            tokens.append(("newline", "\n", line))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent over the token list."""

    def __init__(self, tokens):
        self.tokens, self.i = tokens, 0

    def peek(self, offset=0):
        return self.tokens[self.i + offset] if self.i + offset < len(self.tokens) else ("eof", "", -1)

    def take(self, value=None, kind=None):
        token = self.peek()
        if (value is not None and token[1] != value) or (kind is not None and token[0] != kind):
            raise AlloySyntaxError(f"line {token[2]}: expected {value or kind}, found {token[1]!r}")
        self.i += 1
        return token

    def dotted(self) -> str:
        parts = [self.take(kind="ident")[1]]
        while self.peek()[1] == "." and self.peek(1)[0] == "ident":
            self.take(".")
            parts.append(self.take(kind="ident")[1])
        return ".".join(parts)

    def body(self, block: Block, closing: str | None):
        while self.peek()[1] != (closing or "") and self.peek()[0] != "eof":
            start = self.peek()
            name = self.dotted()
            if self.peek()[1] == "=":
                self.take("=")
                if "." in name:
                    raise AlloySyntaxError(f"line {start[2]}: attribute names have no dots: {name}")
                if name in block.attributes:
                    raise AlloySyntaxError(f"line {start[2]}: attribute {name} set twice")
                block.attributes[name] = self.expr()
            else:
                label = None
                if self.peek()[0] == "string":
                    label = json.loads(self.take()[1])
                    if label and not IDENTIFIER.fullmatch(label):
                        raise AlloySyntaxError(f"line {start[2]}: a block label is an identifier: {label!r}")
                self.take("{")
                child = Block(name, label)
                self.body(child, "}")
                self.take("}")
                block.blocks.append(child)
            if self.peek()[1] != (closing or "") and self.peek()[0] != "eof":
                self.take(kind="newline")   # one statement a line
        if closing is None and self.peek()[0] != "eof":
            raise AlloySyntaxError(f"line {self.peek()[2]}: unexpected {self.peek()[1]!r}")

    def items(self, closing: str, item):
        out = []
        while self.peek()[1] != closing:
            out.append(item())
            if self.peek()[1] != ",":
                break
            self.take(",")
        self.take(closing)
        return out

    def field(self):
        token = self.take()
        if token[0] not in ("ident", "string"):
            raise AlloySyntaxError(f"line {token[2]}: bad object key {token[1]!r}")
        self.take("=")
        return (json.loads(token[1]) if token[0] == "string" else token[1]), self.expr()

    def expr(self):
        kind, value, line = self.peek()
        if kind == "string":
            self.take()
            return json.loads(value)
        if kind == "raw":
            self.take()
            return value[1:-1]
        if kind == "number":
            self.take()
            return float(value) if "." in value or "e" in value.lower() else int(value)
        if value == "[":
            self.take("[")
            return self.items("]", self.expr)
        if value == "{":
            self.take("{")
            return dict(self.items("}", self.field))
        if kind == "ident":
            if value in ("true", "false", "null"):
                self.take()
                return {"true": True, "false": False, "null": None}[value]
            name = self.dotted()
            if self.peek()[1] == "(":
                self.take("(")
                return Call(name, self.items(")", self.expr))
            return Ref(name)
        raise AlloySyntaxError(f"line {line}: expected a value, found {value!r}")


def parse(text: str) -> Block:
    """Parse a whole configuration into a root Block (name "")."""
    root = Block("", None)
    _Parser(tokenize(text)).body(root, None)
    return root
