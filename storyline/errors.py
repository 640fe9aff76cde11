"""The exceptions storyline raises. Messages say what failed, where, and what to do."""
from __future__ import annotations


class StorylineError(Exception):
    """Base of every storyline error."""


class InputError(StorylineError):
    """An input item or file could not be read. ``where`` names the file and line or URL."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class IngestError(InputError):
    """A feed, page or archive record could not be fetched or parsed."""


class ExtractionError(InputError):
    """A page was fetched but no article could be extracted from it."""


class BlockedAddressError(IngestError):
    """A URL resolves to a loopback, private, link-local or metadata address."""


class StorageError(StorylineError):
    """The data store is missing, locked, or from a newer storyline."""


class ConfigError(StorylineError):
    """A setting has a value storyline cannot use."""
