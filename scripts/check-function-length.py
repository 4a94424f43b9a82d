#!/usr/bin/env python3
"""Lists the Swift functions, initializers, deinitializers and subscripts in Sources/
(Sources/afg-bench excluded) whose body is longer than a limit (80 lines by default).

    python3 scripts/check-function-length.py [--max-lines 80] [ROOT]

A length counts from the line of the `func` / `init` / `deinit` / `subscript` keyword to
the line of the closing brace of its body, both included; the body is found by brace
matching on the code with comments (nested `/* */` included) and string literals (`"…"`,
`\"\"\"…\"\"\"`, raw `#"…"#`, interpolations `\\(…)` read as code) blanked out. Closures
are not counted on their own: they are part of the body that holds them, and a nested
function is listed by itself as well as counted in its outer one. Requirements without a
body (protocols) are skipped. The name is qualified by the enclosing types
(`FeatureFileReader.init`, `LBFGS.minimize`); an extension counts as its type.

Prints `path:line name length` per function over the limit, sorted by path and line, and
exits 1 when there is any, 0 otherwise.
"""
import argparse
import bisect
import re
import sys
from pathlib import Path

EXCLUDED = ("Sources/afg-bench",)


def blank_comments_and_strings(src: str) -> str:
    """`src` with comments and string contents replaced by spaces (newlines kept), so that
    the braces left are the code's. Interpolated expressions stay code."""
    out = list(src)
    n = len(src)
    i = 0
    # Frames: ("code", paren depth) inside an interpolation, ("str", hashes, multiline).
    stack = [("code", 0)]

    def blank(a, b):
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        top = stack[-1]
        c = src[i]
        if top[0] == "code":
            if src.startswith("//", i):
                j = src.find("\n", i)
                j = n if j < 0 else j
                blank(i, j)
                i = j
            elif src.startswith("/*", i):
                depth, j = 1, i + 2
                while j < n and depth:
                    if src.startswith("/*", j):
                        depth, j = depth + 1, j + 2
                    elif src.startswith("*/", j):
                        depth, j = depth - 1, j + 2
                    else:
                        j += 1
                blank(i, j)
                i = j
            elif c == '"' or (c == "#" and re.match(r'#+"', src[i:i + 8])):
                hashes = 0
                while src[i + hashes] == "#":
                    hashes += 1
                j = i + hashes
                multi = src.startswith('"""', j)
                j += 3 if multi else 1
                blank(i, j)
                stack.append(("str", hashes, multi))
                i = j
            elif c == "(" and len(stack) > 1:
                stack[-1] = ("code", top[1] + 1)
                i += 1
            elif c == ")" and len(stack) > 1:
                if top[1] == 0:
                    out[i] = " "
                    stack.pop()  # back into the string
                else:
                    stack[-1] = ("code", top[1] - 1)
                i += 1
            else:
                i += 1
        else:
            _, hashes, multi = top
            close = ('"""' if multi else '"') + "#" * hashes
            escape = "\\" + "#" * hashes
            if src.startswith(close, i):
                blank(i, i + len(close))
                stack.pop()
                i += len(close)
            elif src.startswith(escape, i):
                j = i + len(escape)
                if j < n and src[j] == "(":
                    blank(i, j + 1)
                    stack.append(("code", 0))
                    i = j + 1
                else:
                    blank(i, j + 1)
                    i = j + 1
            elif c == "\n" and not multi:
                stack.pop()  # unterminated single-line string: stop at the line end
                i += 1
            else:
                blank(i, i + 1)
                i += 1
    return "".join(out)


def matching_brace(code: str, open_at: int) -> int:
    """Index of the `}` that closes the `{` at `open_at`, or -1."""
    depth = 0
    for k in range(open_at, len(code)):
        if code[k] == "{":
            depth += 1
        elif code[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    return -1


CONTINUATION = re.compile(r"\s*(->|throws\b|rethrows\b|async\b|where\b|\{|,|&|:)")


def body_start(code: str, start: int) -> int:
    """Index of the `{` opening the body of the declaration whose signature starts at
    `start`, or -1 when it has none (a protocol requirement)."""
    depth = 0
    k = start
    n = len(code)
    while k < n:
        c = code[k]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0:
            if c == "{":
                return k
            if c in "};":
                return -1
            if c == "\n":
                line_end = code.rfind("\n", 0, k)
                before = code[line_end + 1:k].rstrip()
                # The signature goes on when this line ends mid-clause or the next line
                # carries on with `->`, `throws`, `where`, `{`, …
                if not (before.endswith((",", "->", "&", ":", "=")) or CONTINUATION.match(code, k + 1)):
                    return -1
        k += 1
    return -1


TYPE_DECL = re.compile(r"(?<![\w.])(class|struct|enum|extension|protocol|actor)\s+([A-Za-z_][\w.]*)")
NOT_A_TYPE_NAME = {"func", "var", "let", "override", "final", "public", "private", "internal",
                   "fileprivate", "open", "static", "subscript", "init", "case", "indirect"}
FUNC_DECL = re.compile(r"(?<![\w.])(?:func\s+([^\s(<]+)|(init)[?!]?(?=\s*[(<])|(deinit)\b|(subscript)(?=\s*[(<]))")


def long_functions(path: Path, shown: str, limit: int):
    src = path.read_text(encoding="utf-8")
    code = blank_comments_and_strings(src)
    line_starts = [0] + [m.end() for m in re.finditer("\n", code)]

    def line_of(index):
        return bisect.bisect_right(line_starts, index)

    types = []  # (open brace, close brace, name)
    for m in TYPE_DECL.finditer(code):
        if m.group(2) in NOT_A_TYPE_NAME:
            continue
        b = body_start(code, m.end())
        if b >= 0:
            types.append((b, matching_brace(code, b), m.group(2)))

    found = []
    for m in FUNC_DECL.finditer(code):
        name = m.group(1) or m.group(2) or m.group(3) or m.group(4)
        b = body_start(code, m.end())
        if b < 0:
            continue
        e = matching_brace(code, b)
        if e < 0:
            continue
        first, last = line_of(m.start()), line_of(e)
        length = last - first + 1
        if length > limit:
            owners = [t for t in types if t[0] < m.start() and m.start() < t[1]]
            owners.sort(key=lambda t: t[0])
            qualified = ".".join([t[2] for t in owners] + [name])
            found.append((shown, first, qualified, length))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", default=".", help="the package root (default: .)")
    parser.add_argument("--max-lines", type=int, default=80, help="longest allowed body (default 80)")
    args = parser.parse_args()
    root = Path(args.root)
    results = []
    for path in sorted((root / "Sources").rglob("*.swift")):
        shown = path.relative_to(root).as_posix()
        if any(shown == x or shown.startswith(x + "/") for x in EXCLUDED):
            continue
        results += long_functions(path, shown, args.max_lines)
    for shown, line, name, length in sorted(results):
        print(f"{shown}:{line} {name} {length}")
    return 1 if results else 0


if __name__ == "__main__":
    sys.exit(main())
