"""An Optuna database storage (``--storage postgresql://...``, ``mysql://...``, ``sqlite:///...``)
made ready before a study opens it.

Optuna creates its tables the first time a process opens a new database; two processes (two
machines) doing so at once collide (PostgreSQL: ``duplicate key value violates unique constraint
"pg_type_typname_nsp_index"`` on ``CREATE TYPE studydirection``). The loser's tables exist once the
winner is done, so the creation is simply tried again. A missing database driver or an unreachable
server is one line, not a traceback.
"""

from __future__ import annotations

import time

from omibench.errors import ConfigError

__all__ = ["ready_rdb"]

_TRIES = 5


def ready_rdb(url: str) -> str:
    """Create Optuna's tables in database ``url`` if they are missing (tolerating another process
    creating them at the same moment) and return ``url`` unchanged. Raises :class:`ConfigError`,
    in one line, when the database cannot be used."""
    import optuna
    from sqlalchemy import exc as sa_exc

    shown = url.split("@", 1)[-1] if "@" in url else url  # never echo a password
    for attempt in range(_TRIES):
        try:
            optuna.storages.RDBStorage(url)
            return url
        except ImportError as exc:
            raise ConfigError(
                f"--storage ...{shown}: no database driver for it ({exc.__cause__ or exc}); "
                "for PostgreSQL: pip install 'omibench[postgres]'"
            ) from None
        except (sa_exc.IntegrityError, sa_exc.ProgrammingError):
            if attempt == _TRIES - 1:
                raise
            time.sleep(0.2 * (attempt + 1))  # another process is creating the tables: let it finish
        except sa_exc.OperationalError as exc:
            first = str(exc.orig or exc).strip().splitlines()[0] if str(exc.orig or exc).strip() else "unreachable"
            raise ConfigError(f"--storage ...{shown}: cannot open the database ({first})") from None
        except sa_exc.ArgumentError as exc:
            raise ConfigError(f"--storage {shown!r}: not a database URL Optuna can open ({exc})") from None
    return url
