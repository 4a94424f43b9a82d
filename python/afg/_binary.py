"""The `afg` binary: where it is, and running it with its one-line errors as exceptions."""

import os
import subprocess

# The binary the wheel packs (afg/bin/afg); AFG_BINARY overrides it (a source checkout).
_PACKED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "afg")


class AFGError(ValueError):
    """`afg` refused its input or failed: the message is afg's own error text."""


def binary():
    """The path of the `afg` binary to run: $AFG_BINARY, else the one inside the package."""
    path = os.environ.get("AFG_BINARY") or _PACKED
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(
            f"afg binary not found at {path}: install the afg wheel (make wheel), "
            "or set AFG_BINARY to a built afg")
    return path


def run(args, cwd=None):
    """Runs `afg ARGS` and returns its standard output. A non-zero exit raises `AFGError`
    with afg's stderr text (its one-line error, "Error: " prefix removed)."""
    done = subprocess.run([binary(), *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        text = done.stderr.strip() or f"afg {args[0]} exited with status {done.returncode}"
        raise AFGError(text[len("Error: "):] if text.startswith("Error: ") else text)
    return done.stdout
