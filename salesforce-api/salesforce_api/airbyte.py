"""Turn the client's errors into Airbyte traced exceptions (airbyte_cdk is imported only when needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from salesforce_api.errors import (
    ConfigError,
    LoginUnreachableError,
    QueryTimeoutError,
    QuotaExceededError,
    SalesforceError,
    TransientError,
)

if TYPE_CHECKING:
    from airbyte_cdk.utils.traced_exception import AirbyteTracedException


def failure_type_name(error: SalesforceError, *, checking: bool = False) -> str:
    """`checking`: the answer to `check`, where a login URL that cannot be reached is most likely mistyped; during a
    sync, whose settings passed the check, it is a network failure that may pass."""
    if isinstance(error, ConfigError) or (checking and isinstance(error, LoginUnreachableError)):
        return "config_error"
    if isinstance(error, TransientError | QuotaExceededError | QueryTimeoutError):
        return "transient_error"
    return "system_error"


def user_message(error: SalesforceError, context: str = "") -> str:
    """What happened and what to do; built from the error's own message, which never holds a secret."""
    prefix = f"{context}: " if context else ""
    if isinstance(error, QuotaExceededError):
        advice = (
            "raise 'api_budget_percent' or wait for the daily API allowance to reset"
            if error.budget
            else "the org's daily API limit is used up; wait for it to reset or ask Salesforce for a higher limit"
        )
        return f"{prefix}{error.message} ({advice})."
    if isinstance(error, TransientError):
        suffix = " Check in Salesforce what was written before retrying." if error.ambiguous else " Try again later."
        return f"{prefix}{error.message}{suffix}"
    if isinstance(error, ConfigError):
        setting = f" (setting: '{error.setting}')" if error.setting and error.setting not in error.message else ""
        return f"{prefix}{error.message}{setting}"
    return f"{prefix}Salesforce returned an error: {error}"


def traced_exception(error: SalesforceError, context: str = "", *, checking: bool = False) -> AirbyteTracedException:
    from airbyte_cdk.models import FailureType
    from airbyte_cdk.utils.traced_exception import AirbyteTracedException

    message = user_message(error, context)
    return AirbyteTracedException(
        internal_message=f"{type(error).__name__}: {error}",
        message=message,
        failure_type=FailureType(failure_type_name(error, checking=checking)),
        exception=error,
    )
