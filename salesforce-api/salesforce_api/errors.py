"""One exception taxonomy for every Salesforce failure: what the user must fix, what may pass, what is a bug."""

from __future__ import annotations

from collections.abc import Sequence


class SalesforceError(Exception):
    """Base of every error this client raises. The message never carries a secret or a record payload."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(SalesforceError):
    """The user must change a setting: login URL, object or field name, permissions."""

    def __init__(self, message: str, *, setting: str | None = None, error_code: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting
        self.error_code = error_code


class AuthenticationError(ConfigError):
    """Wrong credentials; `setting` names the credential to check."""


class TransientError(SalesforceError):
    """A retryable failure that outlasted the retries. `ambiguous`: a write may or may not have been applied."""

    def __init__(
        self, message: str, *, ambiguous: bool = False, status: int | None = None, error_code: str | None = None
    ) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous
        self.status = status
        self.error_code = error_code


class LoginUnreachableError(TransientError):
    """The token endpoint could not be reached. During a sync a network failure that may pass; when checking a new
    configuration, most likely a wrong login URL (`setting`)."""

    setting = "credentials.login_url"


class QuotaExceededError(SalesforceError):
    """The org's daily API limit is used up, or (`budget=True`) the share the user allowed this sync is."""

    def __init__(self, message: str, *, budget: bool = False, used: int | None = None, limit: int | None = None):
        super().__init__(message)
        self.budget = budget
        self.used = used
        self.limit = limit


class ApiError(SalesforceError):
    """Any other error response from Salesforce."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        fields: Sequence[str] = (),
    ) -> None:
        super().__init__(f"{error_code}: {message}" if error_code else message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.fields = list(fields)

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(status={self.status!r}, error_code={self.error_code!r}, message={self.message!r})"


class ApiConfigError(ConfigError, ApiError):
    """An error response the user fixes in settings (unknown object or field, missing permission).

    It is both a `ConfigError` (for the failure type) and an `ApiError` (it carries the response's details).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        fields: Sequence[str] = (),
        setting: str | None = None,
    ) -> None:
        ApiError.__init__(self, message, status=status, error_code=error_code, fields=fields)
        self.setting = setting


class NotFoundError(ApiError):
    """404 NOT_FOUND: an unknown object, record, job or API version."""


class QueryTimeoutError(ApiError):
    """QUERY_TIMEOUT: the query scanned too much; the caller narrows it and tries again."""
