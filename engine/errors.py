"""Domain exceptions: each carries the user-facing reason and, where there is one, the fix."""

from __future__ import annotations


class PeerDraftError(Exception):
    """Base error; str() is a complete sentence a user can act on."""

    def __init__(self, reason: str, fix: str | None = None):
        self.reason = reason
        self.fix = fix
        super().__init__(f"{reason} {fix}" if fix else reason)


class ConfigError(PeerDraftError):
    """A setting is wrong or names something that is not there."""


class ModelError(PeerDraftError):
    """A model could not be loaded or could not generate."""


class IngestError(PeerDraftError):
    """One input file could not be ingested (the others still are)."""


class IndexStateError(PeerDraftError):
    """The on-disk index is missing, corrupt or built with another embedding model."""


class AccessDenied(PeerDraftError):
    """The current user may not see or change this object."""


class NotFound(PeerDraftError):
    """The requested object does not exist (or is not visible to this user)."""
