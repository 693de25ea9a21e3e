"""Where each key of a TOML document is written: a map from key path to line number.

``tomllib`` parses TOML but forgets positions, and an error such as "apps[1].hosting: must be one
of ..." is much more useful with its line. This module walks a document that ``tomllib`` has already
accepted and records the line on which every table, key and array element starts. It understands the
whole TOML 1.0 syntax that can move a key's position: comments, the four string forms (including
multi-line strings that contain ``key = value`` text), dotted and quoted keys, table and
array-of-tables headers (nested ones included), arrays and inline tables. It does not validate: the
input must already have been parsed successfully.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["KeyPath", "format_path", "locate_keys", "nearest_line"]

KeyPath = tuple[str | int, ...]

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def format_path(path: Sequence[str | int]) -> str:
    """Render a key path as TOML readers write it: ``apps[0].egress[1]."odd key"``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        text = part if part and set(part) <= _BARE else '"' + part.replace('"', '\\"') + '"'
        out += text if not out else "." + text
    return out


def nearest_line(lines: dict[KeyPath, int], path: Sequence[str | int]) -> int | None:
    """The line of ``path`` or, when it is not written (a missing key), of its nearest written parent."""
    probe = tuple(path)
    while probe:
        if probe in lines:
            return lines[probe]
        probe = probe[:-1]
    return None


def locate_keys(text: str) -> dict[KeyPath, int]:
    """Map every key path written in ``text`` to its 1-based line number.

    Args:
        text: a TOML document that ``tomllib.loads`` accepts.

    Returns:
        ``{("vendor",): 3, ("vendor", "name"): 4, ("apps", 0): 9, ...}``. Tables get the line of their
        first header or dotted key; array elements the line where the element starts.
    """
    return _Locator(text).run()


class _Locator:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.lines: dict[KeyPath, int] = {}
        self.aot_count: dict[KeyPath, int] = {}

    # -- low-level scanning -------------------------------------------------------------------
    def peek(self, n: int = 1) -> str:
        return self.s[self.i : self.i + n]

    def advance(self, n: int = 1) -> None:
        chunk = self.s[self.i : self.i + n]
        self.line += chunk.count("\n")
        self.i += n

    def skip_ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1

    def skip_comment(self) -> None:
        if self.peek() == "#":
            end = self.s.find("\n", self.i)
            self.i = len(self.s) if end < 0 else end

    def skip_ws_newlines_comments(self) -> None:
        while self.i < len(self.s):
            ch = self.s[self.i]
            if ch in " \t\r":
                self.i += 1
            elif ch == "\n":
                self.advance()
            elif ch == "#":
                self.skip_comment()
            else:
                return

    def record(self, path: KeyPath) -> None:
        self.lines.setdefault(path, self.line)

    # -- keys -----------------------------------------------------------------------------------
    def read_key(self) -> list[str]:
        parts: list[str] = []
        while True:
            self.skip_ws()
            ch = self.peek()
            if ch == '"':
                parts.append(self.read_basic_string())
            elif ch == "'":
                self.i += 1
                end = self.s.index("'", self.i)
                parts.append(self.s[self.i : end])
                self.i = end + 1
            else:
                start = self.i
                while self.i < len(self.s) and self.s[self.i] in _BARE:
                    self.i += 1
                parts.append(self.s[start : self.i])
            self.skip_ws()
            if self.peek() == ".":
                self.i += 1
                continue
            return parts

    def read_basic_string(self) -> str:
        # Keys only: single-line basic string with escapes; returns the decoded-enough text.
        self.i += 1
        out = []
        while self.s[self.i] != '"':
            if self.s[self.i] == "\\":
                nxt = self.s[self.i + 1]
                simple = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
                if nxt in simple:
                    out.append(simple[nxt])
                    self.i += 2
                    continue
                width = 4 if nxt == "u" else 8
                out.append(chr(int(self.s[self.i + 2 : self.i + 2 + width], 16)))
                self.i += 2 + width
                continue
            out.append(self.s[self.i])
            self.i += 1
        self.i += 1
        return "".join(out)

    # -- values ---------------------------------------------------------------------------------
    def skip_value(self, path: KeyPath) -> None:
        if self.s.startswith('"""', self.i):
            self.advance(3)
            while True:
                if self.s[self.i] == "\\":
                    self.advance(2)
                elif self.s.startswith('"""', self.i):
                    self.advance(3)
                    # A multi-line string may end with up to two extra quotes.
                    while self.peek() == '"':
                        self.advance()
                    return
                else:
                    self.advance()
        elif self.s.startswith("'''", self.i):
            end = self.s.index("'''", self.i + 3)
            while self.s.startswith("'", end + 3):
                end += 1
            self.advance(end + 3 - self.i)
        elif self.peek() == '"':
            self.i += 1
            while self.s[self.i] != '"':
                self.i += 2 if self.s[self.i] == "\\" else 1
            self.i += 1
        elif self.peek() == "'":
            self.i = self.s.index("'", self.i + 1) + 1
        elif self.peek() == "[":
            self.skip_array(path)
        elif self.peek() == "{":
            self.skip_inline_table(path)
        else:
            while self.i < len(self.s) and self.s[self.i] not in ",]}#\n":
                self.i += 1

    def skip_array(self, path: KeyPath) -> None:
        self.i += 1
        index = 0
        while True:
            self.skip_ws_newlines_comments()
            if self.peek() == "]":
                self.i += 1
                return
            element = (*path, index)
            self.record(element)
            self.skip_value(element)
            self.skip_ws_newlines_comments()
            if self.peek() == ",":
                self.i += 1
            index += 1

    def skip_inline_table(self, path: KeyPath) -> None:
        self.i += 1
        while True:
            self.skip_ws()
            if self.peek() == "}":
                self.i += 1
                return
            key = self.read_key()
            self.assign(path, key)
            self.skip_ws()
            if self.peek() == ",":
                self.i += 1

    def assign(self, table: KeyPath, key: list[str]) -> None:
        full = table
        for part in key:
            full = (*full, part)
            self.record(full)
        self.skip_ws()
        self.i += 1  # the '='
        self.skip_ws()
        self.skip_value(full)

    # -- headers --------------------------------------------------------------------------------
    def resolve(self, key: list[str]) -> KeyPath:
        path: KeyPath = ()
        for part in key:
            path = (*path, part)
            self.record(path)
            if path in self.aot_count:
                path = (*path, self.aot_count[path])
        return path

    def run(self) -> dict[KeyPath, int]:
        table: KeyPath = ()
        while True:
            self.skip_ws_newlines_comments()
            if self.i >= len(self.s):
                return self.lines
            if self.s.startswith("[[", self.i):
                self.i += 2
                key = self.read_key()
                parent = self.resolve(key[:-1])
                aot = (*parent, key[-1])
                self.record(aot)
                self.aot_count[aot] = self.aot_count.get(aot, -1) + 1
                table = (*aot, self.aot_count[aot])
                self.record(table)
                self.i = self.s.index("]]", self.i) + 2
            elif self.peek() == "[":
                self.i += 1
                table = self.resolve(self.read_key())
                self.i = self.s.index("]", self.i) + 1
            else:
                self.assign(table, self.read_key())
