"""Secret redaction for every log line and error message that leaves the GitHub client."""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"

# Registered values shorter than this would mangle ordinary text and are not real secrets.
_MIN_SECRET_LENGTH = 6

_PEM_BLOCK = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.DOTALL
)
_GITHUB_TOKEN = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9_]{8,}|github_pat_[A-Za-z0-9_]{8,}|v1\.[0-9a-fA-F]{16,})"
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}")
_AUTHORIZATION = re.compile(
    r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)(?:(bearer|token|basic)\s+)?([^\s\"',;}]+)"
)
_SCHEME_VALUE = re.compile(r"(?i)\b(bearer|token)(\s+)([A-Za-z0-9._~+/=-]{8,})")
_URL_PASSWORD = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+):([^@\s/]+)@")

_secrets: set[str] = set()
_secrets_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Redact this exact value wherever it appears from now on, in this process."""
    global _secrets_pattern
    value = value.strip()
    if len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _secrets_pattern = re.compile("|".join(re.escape(s) for s in ordered))


def _looks_like_credential(word: str) -> bool:
    # "token expired" is prose; "token 8f3a..." is a credential.
    return any(ch.isdigit() for ch in word) or len(word) >= 24


def _mask_scheme_value(match: re.Match[str]) -> str:
    if not _looks_like_credential(match.group(3)):
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}{MASK}"


def _mask_authorization(match: re.Match[str]) -> str:
    scheme = f"{match.group(2)} " if match.group(2) else ""
    return f"{match.group(1)}{scheme}{MASK}"


def redact(text: str) -> str:
    """The text with every known kind of secret replaced by ***."""
    if not text:
        return text
    pattern = _secrets_pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    text = _PEM_BLOCK.sub(MASK, text)
    text = _AUTHORIZATION.sub(_mask_authorization, text)
    text = _GITHUB_TOKEN.sub(MASK, text)
    text = _JWT.sub(MASK, text)
    text = _SCHEME_VALUE.sub(_mask_scheme_value, text)
    text = _URL_PASSWORD.sub(rf"\1:{MASK}@", text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record so that no handler or formatter can see a secret."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed format string must not leak its args
            message = f"{record.msg} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Redact records of this logger (default: the root logger) and of every handler it has now."""
    target = logger if logger is not None else logging.getLogger()
    for holder in [target, *target.handlers]:
        if not any(isinstance(f, RedactingFilter) for f in holder.filters):
            holder.addFilter(RedactingFilter())
