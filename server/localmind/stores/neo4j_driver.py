"""One Neo4j driver per server and credentials, shared by every user in the process, and the driver's
errors translated into messages that name the setting to check.

The graph adapter (`neo4j_graph.py`) and the schema migrations (`neo4j_migrations.py`) both borrow drivers
from `DRIVERS`; neither imports the other for it. The password is held by the driver only, never logged.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from neo4j import Driver, GraphDatabase, NotificationDisabledCategory
from neo4j.exceptions import AuthError, ConfigurationError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from localmind.config import GraphSettings
from localmind.stores.ports import StoreError

log = logging.getLogger(__name__)


class BackendError(StoreError):
    """A server backend cannot be reached, refuses the credentials, or fails; the message names the setting."""


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
            max_connection_lifetime=settings.connection_lifetime,
            # A transaction is retried no longer than a connection is waited for; the outbox replays the rest.
            max_transaction_retry_time=settings.acquisition_timeout,
            # Labels that do not exist yet (a new workspace, a new database) are expected, not a warning.
            notifications_disabled_categories=[NotificationDisabledCategory.UNRECOGNIZED],
        )
    except (ConfigurationError, ValueError) as exc:
        raise BackendError(
            f"setting graph.uri: {settings.uri!r} is not a Neo4j URI Local Mind can use: {exc}"
        ) from None


DRIVERS: Final = DriverPool()


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
        raise BackendError(f"cannot reach {where} (setting graph.uri): {exc}") from None
    except Neo4jError as exc:
        raise BackendError(f"{where}, database {settings.database!r} (graph.database): {exc.message}") from None
    except DriverError as exc:
        raise BackendError(f"{where}: {exc}") from None
