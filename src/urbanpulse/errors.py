"""The whole error hierarchy of UrbanPulse, under one root.

Each subclass also inherits the builtin it behaves like, so callers that catch
``ValueError`` or ``LookupError`` keep working.
"""

from __future__ import annotations


class UrbanPulseError(Exception):
    """Root of every error UrbanPulse raises on purpose.

    A message people may read is given as ``N_("no site {site}", site=site_id)``
    (:func:`urbanpulse.i18n.N_`): ``str(exc)`` stays the English text, for logs, and
    the edges show it in the language of the request.
    """


class ConfigurationError(ValueError, UrbanPulseError):
    """A settings value, mapping file or framework file is invalid."""


class MappingError(ConfigurationError):
    """An ingest mapping file does not describe a usable mapping."""


class SourceError(ValueError, UrbanPulseError):
    """A source file cannot be read at all (as opposed to some bad rows in it)."""


class NotFoundError(LookupError, UrbanPulseError):
    """A site, city, metric or other named thing does not exist."""


class AlreadyExistsError(UrbanPulseError):
    """A write would create something that exists already (an NGSI-LD entity)."""


class LakeError(UrbanPulseError):
    """The lake is missing, locked or inconsistent."""


class LakeLockedError(LakeError):
    """Another writer holds the lake's write lock."""


class StoreUnavailableError(UrbanPulseError):
    """A store the product relies on (the access store) does not answer now: an
    outage to wait out (503), not a fault of the request or of the settings."""


class InvalidQueryError(ValueError, UrbanPulseError):
    """A query asks for something that cannot be answered (bad period, empty window...)."""


class MalformedRequestError(InvalidQueryError):
    """A request whose form is wrong (not JSON, a list where an object belongs, an
    option that does not exist), as opposed to well-formed data that cannot be used;
    NGSI-LD answers the first InvalidRequest and the second BadRequestData."""


class PrivacyBudgetError(InvalidQueryError):
    """A release would spend more epsilon than the dataset's budget for the period."""


class MissingExtraError(ImportError, UrbanPulseError):
    """An optional dependency is needed; the message says what to install."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f'{package} is not installed. Install it with: pip install "urbanpulse[{extra}]"'
        )


class AuthenticationError(PermissionError, UrbanPulseError):
    """A route needs credentials and none, or none valid, came with the request (401)."""


class AccessDeniedError(PermissionError, UrbanPulseError):
    """The caller is known but its scope may not do this (403)."""
