"""The `http_receiver` fixture: one real HTTP server for the whole run, reset before each test.

Import it explicitly in a test module (`from tests.transports.http_fixtures import http_receiver`);
it lives here rather than in `conftest.py`, which holds the sshd fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.transports.http_receiver import HttpReceiver


class _SharedReceiver:
    """Started on first use, stopped when the pytest session ends."""

    receiver: HttpReceiver | None = None

    @classmethod
    def get(cls, config: pytest.Config) -> HttpReceiver:
        if cls.receiver is None:
            cls.receiver = HttpReceiver().start()
            config.add_cleanup(cls.stop)
        return cls.receiver

    @classmethod
    def stop(cls) -> None:
        if cls.receiver is not None:
            cls.receiver.stop()
            cls.receiver = None


@pytest.fixture
def http_receiver(request: pytest.FixtureRequest) -> Iterator[HttpReceiver]:
    receiver = _SharedReceiver.get(request.config)
    receiver.reset()
    yield receiver
    receiver.reset()
