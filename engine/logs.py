"""Structured logs: one JSON object per line, with passwords, keys and tokens redacted."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any, TextIO

REDACTED = "[redacted]"
# Field names whose values never reach a log (as `extra=` fields or key=value text in messages).
_SECRET_NAME = r"[\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key|endpoint[_-]?key|authorization|cookie)[\w-]*"
_SECRET_FIELD = re.compile(rf"^{_SECRET_NAME}$|^key$|_key$", re.I)
_SECRET_IN_TEXT = re.compile(
    rf"""(?P<name>["']?{_SECRET_NAME}["']?\s*[:=]\s*)(?P<quote>["']?)(?P<value>[^\s"',;&}}]+)""", re.I)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
_ARGON2 = re.compile(r"\$argon2(?:id|i|d)\$[^\s\"']+")
# Attributes every LogRecord has; anything else came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def redact_text(text: str) -> str:
    """`text` with password=…, token: …, Bearer …, and argon2 hashes replaced by [redacted]."""
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _SECRET_IN_TEXT.sub(lambda m: f"{m.group('name')}{m.group('quote')}{REDACTED}", text)
    return _ARGON2.sub(REDACTED, text)


def redact_value(name: str, value: Any) -> Any:
    """A field's value, or [redacted] when its name says it is secret (recursing into dicts and lists)."""
    if _SECRET_FIELD.search(str(name)):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact_value(k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value("", v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


class RedactSecrets(logging.Filter):
    """Rewrites each record so its message and extra fields carry no secrets (attach to handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        for name, value in list(vars(record).items()):
            if name not in _STANDARD:
                setattr(record, name, redact_value(name, value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


class JsonLines(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in entry:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(level: int | str = logging.INFO, stream: TextIO | None = None, *, json_lines: bool = True) -> logging.Handler:
    """Route the root logger to one redacting handler (JSON lines, or plain text for a terminal).

    Replaces a handler installed by an earlier call, so calling it twice does not double lines.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactSecrets())
    handler.setFormatter(JsonLines() if json_lines else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._peerdraft = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_peerdraft", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
