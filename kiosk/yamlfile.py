"""YAML loading that remembers where each value came from, with YAML 1.1's two traps fixed once.

Error messages must name the line of the file a technician edited, so
mappings and lists keep the line of every key and item. Only PyYAML's safe
constructors are used (no arbitrary objects).

PyYAML speaks YAML 1.1, where an unquoted `22:00` is the base-60 number 1320
and the keys `on:` and `off:` are the booleans true and false. Both are fixed
here, in the loader, for every file kiosk reads: a time stays the text
"22:00" (as in YAML 1.2), and on/off/yes/no used as a key stay text. As
values they remain true/false (`speak: yes`, `sun: off`).

Bounded for any input: a file is read up to MAX_BYTES, and anchors and aliases may not expand the
document beyond MAX_VALUES values or MAX_CHARACTERS characters of text. An alias costs nothing when
loaded (PyYAML shares the object), but "billion laughs" (nine aliases of nine aliases, nine levels
deep) becomes a billion strings as soon as anything walks or prints the value; so the document is
measured as written out, once, before it is built, and refused with its line if it is too large.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from kiosk.i18n import _
from kiosk.problems import Problem, shown

MAX_BYTES = 4 * 1024 * 1024  # a config or programme is kilobytes; a manifest (its published form) is at most 4 MiB
MAX_VALUES = 1_000_000  # scalars, lists and mappings, with every alias counted as what it stands for
MAX_CHARACTERS = 4 * MAX_BYTES  # text, likewise
_BOOL_WORDS = {"on", "off", "yes", "no"}
# PyYAML's int and float patterns without their base-60 forms (1:30 → 90).
_INT = re.compile(r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+)$""", re.X)
_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)


class LineDict(dict):
    """A mapping that knows the line of itself and of each of its keys."""

    line: int = 1

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key_lines: dict = {}

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    line: int = 1

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.item_lines: list = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _Loader(yaml.SafeLoader):
    """SafeLoader whose containers carry line numbers (1-based), without base-60 numbers."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def _key(loader: _Loader, node: yaml.Node) -> object:
    """A key as written: `on:` is the text "on", not true."""
    plain = not node.style  # None from PyYAML's parser, '' from libyaml's
    if (isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:bool" and plain
            and node.value.lower() in _BOOL_WORDS):
        return node.value
    return loader.construct_object(node, deep=True)


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    explicit = sum(1 for key_node, _v in node.value if key_node.tag != "tag:yaml.org,2002:merge")
    loader.flatten_mapping(node)
    merged = len(node.value) - explicit  # flatten_mapping puts the merged pairs (<<: *base) first
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    from_merge: set = set()
    for index, (key_node, value_node) in enumerate(node.value):
        key = _key(loader, key_node)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, _("a key must be a plain value"), key_node.start_mark
            ) from None
        if key in result and key not in from_merge:
            raise yaml.constructor.ConstructorError(
                None, None, _("{key} is written twice here (also on line {line}): keep one of them").format(
                    key=shown(key), line=result.key_lines[key]), key_node.start_mark
            )
        from_merge.discard(key)  # a key written here overrides one merged in; merged ones, each other
        if index < merged:
            from_merge.add(key)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _timestamp(loader: _Loader, node: yaml.ScalarNode) -> object:
    """An impossible date (2026-02-30) stays text, so validation can name its line instead of crashing."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)

_FastLoader = None
if getattr(yaml, "__with_libyaml__", False):
    class _FastLoader(yaml.CSafeLoader):  # noqa: N801 - libyaml's scanner and parser, the same resolving and building
        """The same loader on libyaml's C parser: a 1,000-slide programme.yaml in 0.05 s instead of 0.7 s
        here (seconds on a Pi). A document it refuses is parsed again by the Python parser, so the message
        a technician reads is always the same one."""

        yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
        yaml_constructors = _Loader.yaml_constructors


class YamlError(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


def _measure(root: yaml.Node, filename: str) -> None:
    """Refuse a document that, with its aliases written out, is larger than MAX_VALUES / MAX_CHARACTERS.

    Each node is measured once (aliases are the anchored node itself, so a memo keeps this linear in
    the file's size); a node that contains itself through an alias is refused too.
    """
    sizes: dict[int, tuple[int, int]] = {}
    busy: set[int] = set()

    def measure(node: yaml.Node) -> tuple[int, int]:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in busy:
            raise YamlError(Problem(filename, node.start_mark.line + 1, "",
                                    _("an alias refers to the value that contains it (a loop): refused")))
        busy.add(key)
        values, chars = 1, 0
        if isinstance(node, yaml.ScalarNode):
            chars = len(node.value)
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else [c for kv in node.value for c in kv]
            for child in children:
                v, c = measure(child)
                values, chars = values + v, chars + c
                if values > MAX_VALUES or chars > MAX_CHARACTERS:
                    raise YamlError(Problem(
                        filename, child.start_mark.line + 1, "",
                        _("YAML anchors and aliases expand to more than {values} values or {characters} "
                          "characters (an alias bomb?): refused").format(values=f"{MAX_VALUES:,}",
                                                                          characters=f"{MAX_CHARACTERS:,}")))
        busy.discard(key)
        sizes[key] = (values, chars)
        return values, chars

    measure(root)


def _build(loader: yaml.SafeLoader, filename: str) -> object:
    """Compose, measure (the alias bound holds on either parser), then build."""
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node, filename)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def loads(text: str, filename: str) -> object:
    """Parse YAML text; syntax errors become a YamlError naming file and line."""
    if _FastLoader is not None:
        try:
            return _build(_FastLoader(text), filename)
        except (yaml.YAMLError, RecursionError):
            pass  # the Python parser below says what is wrong, in its words
    try:
        return _build(_Loader(text), filename)
    except yaml.reader.ReaderError as exc:  # a character YAML forbids (NUL, other control codes)
        line = text[: exc.position].count("\n") + 1 if isinstance(exc.position, int) else None
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else _("a control character")
        raise YamlError(Problem(filename, line, "", _("contains {character}, which YAML does not allow: remove it")
                                .format(character=char))) from None
    except yaml.MarkedYAMLError as exc:
        try:
            line, message = explain(exc, text)
        except Exception:  # noqa: BLE001 - a reading of the text that went wrong must not hide the error itself
            mark = exc.problem_mark or exc.context_mark
            line, message = (mark.line + 1 if mark else None), exc.problem or exc.context or "invalid YAML"
        raise YamlError(Problem(filename, line, "", _("YAML syntax: {message}").format(message=message))) from None
    except yaml.YAMLError as exc:
        raise YamlError(Problem(filename, None, "", f"YAML: {exc}")) from None
    except RecursionError:
        raise YamlError(Problem(filename, None, "", _("YAML nested too deeply"))) from None


# --- PyYAML's errors in a technician's words ----------------------------------------------------
# PyYAML names the token where parsing became impossible, which is often not the line that is wrong: a key
# dedented to the left margin is valid YAML (a new top-level key), and the error comes lines later. So the
# text around the error is read again, as a person reads indentation, to find the line to fix and say how.

def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content(lines: list[str], before: int) -> list[int]:
    """Indexes of the lines before `before` that hold something (not blank, not a comment), nearest first."""
    return [i for i in range(before - 1, -1, -1) if lines[i].strip() and not lines[i].lstrip().startswith("#")]


def _levels(lines: list[str], index: int) -> list[tuple[int, int]]:
    """The indentations open above line `index` (its parents' and siblings'), with a line that has each."""
    levels: list[tuple[int, int]] = []
    lowest = None
    for i in _content(lines, index):
        text = lines[i]
        here = [_indent(text)]
        rest = text.lstrip(" ")
        if rest.startswith("- ") and rest[2:].strip():  # "- id: a": the item's keys start after the dash
            here.append(_indent(text) + 2 + _indent(rest[2:]))
        for level in here:
            if (lowest is None or level < lowest or level in here[1:]) and level not in (lv for lv, _ref in levels):
                levels.append((level, i))
        lowest = min(here) if lowest is None else min(lowest, min(here))
        if lowest == 0:
            break
    return levels


def _column_fix(lines: list[str], index: int, found: int) -> str:
    """Where line `index`, indented `found` spaces, should start: the nearest open indentation above it."""
    levels = [(lv, i) for lv, i in _levels(lines, index) if lv != found]
    if not levels:
        return _("start it at the left margin (column 1)")
    level, ref = min(levels, key=lambda item: (abs(item[0] - found), -item[0]))
    return _("start it at column {column} ({spaces} spaces), like line {line}").format(
        column=level + 1, spaces=level, line=ref + 1)


def _dedented_above(lines: list[str], index: int) -> int | None:
    """A line above `index` that is indented less than `index` and the lines before it: the real mistake
    when a key slipped left (to a place where it still reads as YAML) and the next line no longer fits."""
    found = _indent(lines[index])
    above = _content(lines, index)
    for position, i in enumerate(above):
        if _indent(lines[i]) < found:
            if lines[i].rstrip().endswith(":"):
                return None  # the key that opens the block this line is in (slides: after a top-level list)
            if any(_indent(lines[j]) == found for j in above[position + 1:]):
                return i
            return None
    return None


def _unclosed_bracket(lines: list[str]) -> tuple[int, str] | None:
    """The line (1-based) and bracket of the last [ or { left open, quotes and comments aside."""
    stack: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        quote = None
        for i, ch in enumerate(line):
            if quote:
                quote = None if ch == quote else quote
            elif ch in "\"'" and (i == 0 or line[i - 1] in " [{,:"):
                quote = ch
            elif ch == "#" and (i == 0 or line[i - 1] == " "):
                break
            elif ch in "[{":
                stack.append((number, ch))
            elif ch in "]}" and stack:
                stack.pop()
    return stack[-1] if stack else None


def _quote_example(line: str) -> str:
    """`name: "UBND "xã" An"` as it should be written: the whole value in single quotes."""
    key, _sep, value = line.strip().partition(": ")
    value = value.strip()
    if len(value) > 1 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return f"{key}: '{value}'" if "'" not in value else f'{key}: "{value}"'


def explain(exc: yaml.MarkedYAMLError, text: str) -> tuple[int | None, str]:
    """The line to fix and what to do, for one of PyYAML's errors (its own words where none fits)."""
    lines = text.split("\n")
    mark, context = exc.problem_mark, exc.context_mark
    problem, where = exc.problem or "", exc.context or ""
    if mark is None:
        return (context.line + 1 if context else None), problem or where or _("invalid YAML")
    index = min(mark.line, len(lines) - 1)
    here = lines[index] if lines else ""
    column = mark.column
    if "'\\t'" in problem or "\t" in problem:
        return index + 1, _("a tab at column {column}: YAML indents with spaces only; replace the tab with "
                            "spaces").format(column=column + 1)
    if "quoted scalar" in where and context is not None:
        quote = lines[context.line][context.column] if context.column < len(lines[context.line]) else '"'
        return context.line + 1, _("the quote {quote} opened at column {column} is never closed: end the text "
                                   "with {quote}, or remove the quote").format(quote=quote, column=context.column + 1)
    if "'<stream end>'" in problem and "quoted" not in where:
        opened = _unclosed_bracket(lines[: index + 1])
        if opened is not None:
            line, char = opened
            closing = "]" if char == "[" else "}"
            return line, _("the {opened} opened on this line is never closed: end it with {closing}").format(
                opened=char, closing=closing)
    if "flow sequence" in where or "flow mapping" in where:
        opened, closing = ("[", "]") if "sequence" in where else ("{", "}")
        line = context.line + 1 if context else index + 1
        return line, _("the {opened} opened on this line is never closed: end it with {closing}").format(
            opened=opened, closing=closing)
    if "simple key" in where and "':'" in problem and context is not None:
        return context.line + 1, _("a key without ':': write it as key: value (a colon, then a space)")
    for i in (range(context.line, index + 1) if context else ()):
        stripped = lines[i].lstrip(" ")
        if stripped.startswith("-") and len(stripped) > 1 and stripped[1] not in " -":
            return i + 1, _("a dash needs a space after it: write - id: …, not -id: …")
    for i in (range(context.line, index) if context else ()):  # a quote left open, closed by a later line's
        value = lines[i].partition(": ")[2].strip() or lines[i].lstrip(" ")[2:].strip()
        if value[:1] in ('"', "'") and lines[i].count(value[0]) % 2:
            return i + 1, _("the quote {quote} opened on this line is not closed on it: end the text with "
                            "{quote}, or remove the quote").format(quote=value[0])
    if problem.startswith("expected <block end>") or problem == "mapping values are not allowed here":
        slipped = _dedented_above(lines, index)
        if slipped is not None:
            above = _content(lines, slipped)
            level = _levels(lines, slipped)[0][0] if above else 0  # where the line above has its keys
            return slipped + 1, _("this line is indented less than the lines before and after it: start it at "
                                  "column {column} ({spaces} spaces), like line {line}").format(
                column=level + 1, spaces=level, line=above[0] + 1 if above else 1)
    if problem == "mapping values are not allowed here":
        before = here[:column]
        key_end = before.find(": ")
        if key_end >= 0 and before[:key_end].strip() and before[:key_end].strip()[0] not in "\"'":
            key, value = before[:key_end].strip().lstrip("- "), here[key_end + 2:].strip()
            return index + 1, _("the value of {key} contains ': ', which YAML reads as another key: put the "
                                "value in quotes: {example}").format(key=key, example=f'{key}: "{value}"')
        previous = _content(lines, index)
        ref = previous[0] + 1 if previous else index
        return index + 1, _("indented more than line {line} above it: {fix}").format(
            line=ref, fix=_column_fix(lines, index, _indent(here)))
    if problem.startswith("expected <block end>"):
        if "'<scalar>'" in problem and column > _indent(here):
            return index + 1, _("text after the closing quote: to have quotes inside a value, put the whole value "
                                "in the other kind of quotes: {example}").format(example=_quote_example(here))
        return index + 1, _("indented {spaces} spaces, which fits no list or key above it: {fix}").format(
            spaces=_indent(here), fix=_column_fix(lines, index, _indent(here)))
    return index + 1, problem or where or _("invalid YAML")


def load(path: Path) -> object:
    """Read and parse a YAML file; I/O and encoding errors become a YamlError."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise YamlError(Problem(str(path), None, "", _("cannot read: {reason}").format(reason=exc.strerror or exc))) \
            from None
    if len(raw) > MAX_BYTES:
        raise YamlError(Problem(str(path), None, "", _("is larger than {size} MiB: not a file kiosk reads (wrong "
                                                     "file?)").format(size=MAX_BYTES // (1024 * 1024))))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlError(Problem(str(path), line, "", _("not valid UTF-8 text (save the file as UTF-8)"))) from None
    return loads(text, str(path))
