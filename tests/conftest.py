"""Fixtures shared by every test: a private namespace on the real RabbitMQ, cleaned up afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.config import BusSettings
from tests.support import AMQP_URL, REAL_AUDIO, Broker


@pytest.fixture
def bus_settings() -> BusSettings:
    """Settings with a namespace no other test run shares."""
    return BusSettings(amqp_url=AMQP_URL, namespace=f"vftest-{uuid.uuid4().hex[:10]}",
                       retry_backoff_seconds=0.05, connect_timeout_seconds=10)


@pytest.fixture
def broker(bus_settings: BusSettings) -> Iterator[Broker]:
    """Declares the topology (as any worker would) and deletes everything in the namespace afterwards."""
    from shared.bus import Bus

    declarer = Bus("test", bus_settings)
    declarer.start()
    declarer.wait_connected(10)
    declarer.stop(10)
    b = Broker(bus_settings)
    yield b
    b.cleanup()


@pytest.fixture(scope="session")
def real_audio() -> Path:
    if not (REAL_AUDIO / "manifest.tsv").exists():
        pytest.skip(f"speech recordings not found at {REAL_AUDIO}")
    return REAL_AUDIO
