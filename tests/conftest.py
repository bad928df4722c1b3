"""Fixtures shared by every test: a private namespace on the real RabbitMQ, cleaned up afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shared.bus import Bus
from shared.config import BusSettings
from tests.speech import conversation, conversation_source, speech
from tests.speech import source as speech_source
from tests.support import AMQP_URL, Broker, sweep_namespace

pytest_plugins = ["tests.ci_skips", "tests.file_order", "pytester"]

RUN_PREFIX = f"vftest-{uuid.uuid4().hex[:6]}"  # every namespace of this test run starts with it


@pytest.fixture(scope="session", autouse=True)
def _sweep_the_broker() -> Iterator[None]:
    """After the run, delete whatever any test left in its namespaces (display queues, taps, crashed fixtures)."""
    yield
    sweep_namespace(AMQP_URL, RUN_PREFIX)


@pytest.fixture
def bus_settings() -> BusSettings:
    """Settings with a namespace no other test run shares."""
    return BusSettings(amqp_url=AMQP_URL, namespace=f"{RUN_PREFIX}-{uuid.uuid4().hex[:8]}",
                       retry_backoff_seconds=0.05, connect_timeout_seconds=10)


@pytest.fixture
def broker(bus_settings: BusSettings) -> Iterator[Broker]:
    """Declares the topology (as any worker would) and deletes everything in the namespace afterwards."""
    declarer = Bus("test", bus_settings)
    declarer.start()
    declarer.wait_connected(10)
    declarer.stop(10)
    b = Broker(bus_settings)
    yield b
    b.cleanup()


def pytest_report_header() -> str:
    return f"speech: {speech_source()}\nconversation: {conversation_source()}"


@pytest.fixture(scope="session")
def speech_dir() -> Path:
    """16 kHz WAVs with their manifest.tsv: the real recordings, or stand-ins made for this clone (tests/speech.py)."""
    return speech().path


@pytest.fixture(scope="session")
def conversation_audio() -> Path:
    """Multi-speaker talk with its manifest.tsv: the real meetings and call, or stand-ins (tests/speech.py)."""
    return conversation().path


@pytest.fixture
def running() -> Iterator[Callable[[Bus], Bus]]:
    """Start buses in the background (connected before it returns) and stop them all after the test."""
    buses: list[Bus] = []

    def start(bus: Bus) -> Bus:
        bus.start()
        bus.wait_connected(10)
        buses.append(bus)
        return bus

    yield start
    for bus in buses:
        bus.stop(10)


@pytest.fixture
def publisher(bus_settings: BusSettings, broker: Broker, running: Callable[[Bus], Bus]) -> Bus:
    """A connected bus in the test's namespace, for playing an upstream stage's part."""
    return running(Bus("test-publisher", bus_settings))
