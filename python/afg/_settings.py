"""The command line's settings as the binary declares them (`afg settings --json`): the
estimators' parameter names, defaults and intervals come from here, never from a copied list.

The wheel holds the dump of the binary it packs (afg/settings.json, written by
python/build_wheel.py); without it (a source checkout with AFG_BINARY set) the binary is asked.
"""

import functools
import json
import os

from . import _binary

_PACKED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "settings.json")


@functools.lru_cache(maxsize=None)
def dump():
    """The binary's settings dump: {"version", "commands": {name: [option records]}}."""
    if os.path.exists(_PACKED) and not os.environ.get("AFG_BINARY"):
        with open(_PACKED, encoding="utf-8") as f:
            return json.load(f)
    return json.loads(_binary.run(["settings", "--json"]))


def parse_default(text):
    """A default as the dump prints it, as a Python value: int, float, str or None."""
    if text is None:
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


class Option:
    """One option or flag of a command: its CLI flag, Python name, default and interval."""

    def __init__(self, record):
        self.name = record["name"]
        self.flag = "--" + self.name
        self.python_name = self.name.replace("-", "_")
        self.is_flag = record["kind"] == "flag"
        self.binary_default = False if self.is_flag else parse_default(record.get("default"))
        self.default = self.binary_default  # the estimator's (an estimator may set its own)
        self.values = record.get("values")
        self.interval = record.get("interval")
        self.help = record.get("help", "")

    def arguments(self, value):
        """The command-line words for `value` (nothing for an unset flag or None)."""
        if self.is_flag:
            return [self.flag] if value else []
        if value is None:
            return []
        if isinstance(value, float):
            value = repr(value)  # shortest round-trip text: the binary reads the same double
        return [self.flag, str(value)]

    def interval_text(self):
        """The interval as `afg --help` states it ("≥ 1", "in [0, 1)"), or ''."""
        i = self.interval
        if not i:
            return ""
        lo, hi = i["lower"], i["upper"]
        fmt = lambda v: repr(int(v)) if float(v).is_integer() else repr(v)
        if lo is None and hi is None:
            return "finite"
        if hi is None:
            return ("≥ " if i["lower_closed"] else "> ") + fmt(lo)
        if lo is None:
            return ("≤ " if i["upper_closed"] else "< ") + fmt(hi)
        return f"in {'[' if i['lower_closed'] else '('}{fmt(lo)}, {fmt(hi)}{']' if i['upper_closed'] else ')'}"


def options(command, names):
    """The records of `names` (CLI names, e.g. "head-threshold") of `afg COMMAND`, in that
    order. A name the binary does not declare is an error naming it."""
    records = {r["name"]: r for r in dump()["commands"][command]}
    missing = [n for n in names if n not in records]
    if missing:
        raise RuntimeError(f"afg {command} declares no option {', '.join('--' + n for n in missing)}")
    return [Option(records[n]) for n in names]
