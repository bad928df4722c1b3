"""`voxframe run`'s plan: each worker started with its own service's command and default port."""

from __future__ import annotations

import argparse

from shared.launcher import plan


def test_the_plan_starts_each_service_on_its_own_default_port() -> None:
    args = argparse.Namespace(demo=False, file="talk.wav", mic=None, room="den", port=8080, host="127.0.0.1",
                              transcribers=2, wyoming=["tcp://porch.local:10700"])
    assert [(w.name, w.argv) for w in plan(args)] == [
        ("display", ["display", "--port", "8080", "--host", "127.0.0.1", "--default-room", "den"]),
        ("generator", ["generator", "--metrics-port", "9104"]),
        ("prompter", ["prompter", "--metrics-port", "9103"]),
        ("transcriber-1", ["transcriber", "--metrics-port", "9102"]),
        ("transcriber-2", ["transcriber", "--metrics-port", "9111"]),
        ("capture", ["capture", "--room", "den", "--metrics-port", "9101", "--mic", "file", "--file", "talk.wav",
                     "--loop"]),
        ("satellite-1", ["capture", "--room", "den", "--metrics-port", "9121", "--mic", "satellite-1",
                         "--wyoming", "tcp://porch.local:10700"]),
    ]

