"""Retries for the steps that touch the network, for the errors a retry can fix only.

A `dg.RetryPolicy` retries any exception; the steps let every other error leave as a
`dg.Failure(allow_retries=False)`, so a corrupt file or a refused key fails at once instead of
after minutes of retries.
"""

import errno
import functools
import inspect
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dagster as dg

from customer_analytics.lib.metadata import shortened

# A step that touches the network is retried (10 s, 20 s, 40 s, with jitter) for the errors a
# retry can fix only: a RetryPolicy retries any exception, so the steps let the other errors
# leave as `dg.Failure(allow_retries=False)` (`retry_only_if_transient`, `transient_retries_only`).
network_retry = dg.RetryPolicy(
    max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

# MySQL/MariaDB errors worth another try: no connection (cannot connect, gone away, lost during
# a query, killed, idle too long) and a lock wait or deadlock, after which the transaction can
# simply run again.
TRANSIENT_MYSQL_ERRORS = {2003, 2006, 2013, 2055, 1927, 4031, 1205, 1213}
# Local and socket errors of a network that is down or slow for a moment.
TRANSIENT_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EPIPE,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.EHOSTDOWN,
    errno.ENETUNREACH,
    errno.ENETDOWN,
    errno.ENETRESET,
    errno.EAGAIN,
}
# Arrow's S3 client reports every failure as a plain OSError: these are those of the network,
# of throttling and of the server's side (HTTP 5xx, 429, 408); access denied, no such key or
# bucket are not.
TRANSIENT_S3_MESSAGE = re.compile(
    r"NETWORK_CONNECTION|curlCode|SLOW_DOWN|THROTTL|SERVICE_UNAVAILABLE|INTERNAL_FAILURE"
    r"|REQUEST_TIMEOUT|REQUEST_EXPIRED|HTTP status (5\d\d|429|408)|Connection (reset|refused)"
    r"|timed out|Timeout was reached|Could not resolve host|Broken pipe",
    re.IGNORECASE,
)


def _transient_alone(error: BaseException) -> bool:
    """Whether this one error, its causes aside, is of a kind a later attempt may not meet."""
    if isinstance(error, ConnectionError | TimeoutError):
        return True
    if isinstance(error, OSError):
        if error.errno in TRANSIENT_ERRNOS or type(error).__name__ == "gaierror":
            return True
        return error.errno is None and bool(TRANSIENT_S3_MESSAGE.search(str(error)))
    # Libraries are looked up only if loaded: an error cannot come from one that is not.
    if (pymysql := sys.modules.get("pymysql")) and isinstance(error, pymysql.err.MySQLError):
        return bool(error.args) and error.args[0] in TRANSIENT_MYSQL_ERRORS
    if (sqlalchemy := sys.modules.get("sqlalchemy")) and isinstance(
        error, sqlalchemy.exc.TimeoutError | sqlalchemy.exc.DisconnectionError
    ):
        return True  # no connection free in the pool, or one that dropped
    if (openai := sys.modules.get("openai")) and isinstance(error, openai.APIError):
        if isinstance(error, openai.APIConnectionError):  # timeouts included
            return True
        if isinstance(error, openai.APIStatusError):
            # 429 also means a spent quota, which no wait within a run refills.
            if error.status_code == 429:
                return getattr(error, "code", None) != "insufficient_quota"
            return error.status_code == 408 or error.status_code >= 500
        return False
    if (httpx := sys.modules.get("httpx")) and isinstance(error, httpx.TransportError):
        return True
    if (requests := sys.modules.get("requests")) and isinstance(
        error, requests.ConnectionError | requests.Timeout
    ):
        return True
    if (duckdb := sys.modules.get("duckdb")) and isinstance(error, duckdb.IOException):
        return "Could not set lock" in str(error)  # another process holds the file
    return False


def is_transient(error: BaseException) -> bool:
    """Whether a retry may fix `error`: a connection refused, reset or timed out, throttling,
    a server error (HTTP 5xx, 429), a lost MySQL connection or a deadlock. The error's causes
    count too: a lost connection often surfaces as a later, stranger error."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _transient_alone(current):
            return True
        orig = getattr(current, "orig", None)  # SQLAlchemy's wrapper of the driver's error
        if isinstance(orig, BaseException) and _transient_alone(orig):
            return True
        current = current.__cause__ or current.__context__
    return False


@contextmanager
def retry_only_if_transient(what: str) -> Iterator[None]:
    """Lets transient errors through, for the step's RetryPolicy, and turns every other error
    into a `dg.Failure` that is not retried, its message starting with `what`."""
    try:
        yield
    except (dg.Failure, dg.DagsterError, dg.RetryRequested):
        raise
    except Exception as error:
        if is_transient(error):
            raise
        raise dg.Failure(
            description=f"{what}: {type(error).__name__}: {shortened(error, 1_000)} "
            "(not retried: a retry cannot fix this error)",
            allow_retries=False,
        ) from error


def transient_retries_only(compute: Callable) -> Callable:
    """Decorates an asset's function so that only its transient errors are retried (see
    `retry_only_if_transient`); a generator function stays one."""
    what = f"{compute.__name__} failed"
    if inspect.isgeneratorfunction(compute):

        @functools.wraps(compute)
        def generating(*args, **kwargs):
            with retry_only_if_transient(what):
                yield from compute(*args, **kwargs)

        return generating

    @functools.wraps(compute)
    def returning(*args, **kwargs):
        with retry_only_if_transient(what):
            return compute(*args, **kwargs)

    return returning
