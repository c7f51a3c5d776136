"""Direct statements' pool checkout."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from backend.direct import PooledConnection


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-directory/safehaven.sqlite3",
        "postgresql+psycopg://postgres@127.0.0.1:1/safehaven?connect_timeout=2",
    ],
)
def test_a_database_that_cannot_be_reached_raises_sqlalchemys_operational_error(url):
    # As Engine.connect() does: the app answers it with 503 (a raw driver error was a 500).
    engine = create_engine(url)
    try:
        with pytest.raises(OperationalError):
            PooledConnection(engine)
    finally:
        engine.dispose()
