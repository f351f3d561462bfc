"""Structured logs carry no passwords, keys or tokens."""

from __future__ import annotations

import io
import json
import logging

from engine.logs import redact_text, setup_logging


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_logs_are_json_lines_with_extra_fields():
    stream = io.StringIO()
    setup_logging(logging.INFO, stream)
    logging.getLogger("peerdraft.test").info("saved version %d", 3, extra={"article_id": 7})
    (entry,) = _lines(stream)
    assert entry["message"] == "saved version 3" and entry["article_id"] == 7 and entry["level"] == "INFO"


def test_logs_redact_passwords_keys_and_tokens_in_fields_and_messages():
    stream = io.StringIO()
    setup_logging(logging.INFO, stream)
    log = logging.getLogger("peerdraft.test")
    log.info("login attempt", extra={"user": "alice", "password": "hunter2-secret",
                                     "settings": {"endpoint_key": "sk-live-123", "mode": "team"}})
    log.warning("calling endpoint with api_key=sk-abc123 and Authorization: Bearer abcdef123456")
    log.info('config {"password": "pa55word!", "token": "tok-999"}')
    log.info("hash %s", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")
    try:
        raise ValueError("bad password=hunter3")
    except ValueError:
        log.exception("failed")
    text = stream.getvalue()
    for secret in ("hunter2-secret", "sk-live-123", "sk-abc123", "abcdef123456", "pa55word!", "tok-999",
                   "aGFzaA", "hunter3"):
        assert secret not in text, secret
    entries = _lines(stream)
    assert entries[0]["user"] == "alice" and entries[0]["settings"]["mode"] == "team"
    assert entries[0]["password"] == "[redacted]"


def test_redaction_leaves_ordinary_words_alone():
    assert redact_text("key points: memory, speed; tokens per second 40") == \
        "key points: memory, speed; tokens per second 40"


def test_setting_up_twice_does_not_duplicate_lines():
    stream = io.StringIO()
    setup_logging(logging.INFO, stream)
    setup_logging(logging.INFO, stream)
    logging.getLogger("peerdraft.test").info("once")
    assert len(_lines(stream)) == 1
