"""One Neo4j driver per server and credentials, shared by every user in the process, the write transactions
run on it, and the driver's errors translated into messages that name the setting to check.

The graph adapter (`neo4j_graph.py`) and the schema migrations (`neo4j_migrations.py`) both borrow drivers
from `DRIVERS`; neither imports the other for it. The password is held by the driver only, never logged.

Failing fast. The driver retries nothing by itself (`max_transaction_retry_time=0`), so a server that is down
or refuses connections fails the call after one connection attempt instead of after the driver's own backoff.
Retrying is the job of the resilience layer above (BackendGuard: backoff, deadlines, a circuit breaker), which
reads `BackendError.transient`. The one retry made here is `run_write`'s: a transient error that the server
itself reports (a deadlock between two writers) is retried once after a short pause; the next try usually passes.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, TypeVar

from neo4j import Driver, GraphDatabase, NotificationDisabledCategory, Transaction
from neo4j.exceptions import (
    AuthError,
    ConfigurationError,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)

from localmind.config import GraphSettings
from localmind.stores.ports import StoreError

log = logging.getLogger(__name__)
T = TypeVar("T")

CONNECT_TIMEOUT_S: Final = 5.0  # The longest a new connection may take; never longer than graph.acquisition_timeout.
TRANSIENT_RETRY_DELAY_S: Final = 0.1  # The pause before a write that met a server's transient error runs again.


class BackendError(StoreError):
    """A server backend cannot be reached, refuses the credentials, or fails; the message names the setting.

    `transient` says whether trying again later may succeed (an unreachable server, a deadlock); the resilience
    layer reads it to decide whether to retry."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


# Drivers -----------------------------------------------------------------------------------------------------

DriverKey = tuple[str, str, str]


@dataclass
class _Shared:
    driver: Driver
    users: int


class DriverPool:
    """One driver per (URI, user, password) per process, shared by reference count.

    The password's digest is part of the key so that a caller with other credentials never borrows a driver
    that someone else authenticated; it is kept in memory only.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shared: dict[DriverKey, _Shared] = {}

    def acquire(self, settings: GraphSettings) -> tuple[DriverKey, Driver]:
        password = settings.resolved_password()
        key = (settings.uri, settings.user, hashlib.sha256(password.encode()).hexdigest())
        with self._lock:
            shared = self._shared.get(key)
            if shared is None:
                shared = _Shared(_new_driver(settings, password), 0)
                self._shared[key] = shared
            shared.users += 1
            return key, shared.driver

    def release(self, key: DriverKey) -> None:
        with self._lock:
            shared = self._shared.get(key)
            if shared is None:
                return
            shared.users -= 1
            if shared.users > 0:
                return
            del self._shared[key]
        shared.driver.close()


def _new_driver(settings: GraphSettings, password: str) -> Driver:
    try:
        return GraphDatabase.driver(
            settings.uri,
            auth=(settings.user, password),
            max_connection_pool_size=settings.pool_size,
            connection_acquisition_timeout=settings.acquisition_timeout,
            # Opening a connection gives up before acquiring one does (as the driver asks), so a server that
            # drops packets instead of refusing them fails within seconds too.
            connection_timeout=min(CONNECT_TIMEOUT_S, settings.acquisition_timeout),
            max_connection_lifetime=settings.connection_lifetime,
            # The driver retries nothing: a refused connection fails the call at once, and the resilience layer
            # above decides whether and when to try again (the outbox replays what it gives up on).
            max_transaction_retry_time=0.0,
            # Labels that do not exist yet (a new workspace, a new database) are expected, not a warning.
            notifications_disabled_categories=[NotificationDisabledCategory.UNRECOGNIZED],
        )
    except (ConfigurationError, ValueError) as exc:
        raise BackendError(
            f"setting graph.uri: {settings.uri!r} is not a Neo4j URI Local Mind can use: {exc}"
        ) from None


DRIVERS: Final = DriverPool()


# Writes ------------------------------------------------------------------------------------------------------


def run_write(driver: Driver, database: str, work: Callable[[Transaction], T]) -> T:
    """Run `work` in one write transaction and commit it; answer what it answers.

    A connection failure is raised at once. A transient error reported by the server (a deadlock, a lock that
    could not be had) is retried once after a short pause; a second one is raised for the caller to retry later.
    """
    try:
        return _commit_once(driver, database, work)
    except TransientError as first:
        if not first.is_retryable():
            raise
        log.info("Neo4j reported a transient error (%s); the write is tried once more", first.code)
        time.sleep(TRANSIENT_RETRY_DELAY_S)
        return _commit_once(driver, database, work)


def _commit_once(driver: Driver, database: str, work: Callable[[Transaction], T]) -> T:
    # An explicit transaction, not execute_write: the driver must not replay it on its own schedule.
    with driver.session(database=database) as session, session.begin_transaction() as tx:
        answer = work(tx)
        tx.commit()
        return answer


def warn_if_weak(settings: GraphSettings) -> None:
    if settings.password_is_weak():
        log.warning(
            "setting graph.password: the Neo4j password is a well-known default; "
            "choose a strong one before the server is reachable by anyone else"
        )


@contextmanager
def translated_errors(settings: GraphSettings) -> Iterator[None]:
    """Turn the driver's errors into BackendErrors that name the setting to check (and never the password)."""
    where = f"Neo4j at {settings.uri}"
    try:
        yield
    except AuthError:
        raise BackendError(
            f"{where} refused the credentials of user {settings.user!r}: check graph.password "
            "(or graph.password_file) and graph.user"
        ) from None
    except (ServiceUnavailable, SessionExpired) as exc:
        raise BackendError(f"cannot reach {where} (setting graph.uri): {exc}", transient=True) from None
    except Neo4jError as exc:
        message = f"{where}, database {settings.database!r} (graph.database): {exc.message}"
        raise BackendError(message, transient=exc.is_retryable()) from None
    except DriverError as exc:
        raise BackendError(f"{where}: {exc}") from None
