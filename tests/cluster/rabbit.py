"""A real three-node RabbitMQ cluster on this machine: each node its own name, ports, data, logs and config."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.support import free_port, wait_for


@dataclass
class Node:
    name: str  # e.g. vfc1-ab12cd@localhost
    port: int
    home: Path
    dist_port: int = 0

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "RABBITMQ_NODENAME": self.name, "RABBITMQ_NODE_PORT": str(self.port),
                "RABBITMQ_DIST_PORT": str(self.dist_port), "RABBITMQ_CONFIG_FILE": str(self.home / "rabbitmq.conf"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.home / "enabled_plugins"),
                "RABBITMQ_MNESIA_BASE": str(self.home / "mnesia"), "RABBITMQ_LOG_BASE": str(self.home / "log"),
                "RABBITMQ_PID_FILE": str(self.home / "pid")}


class Cluster:
    """`start()` boots the nodes and joins the 2nd and 3rd to the 1st; `stop_node`/`start_node` take one
    down and back; `close()` stops all and deletes their files. Nodes run as the `rabbitmq` user, as the
    Debian package's wrapper does, so their directories are handed to it."""

    def __init__(self, size: int = 3) -> None:
        run = uuid.uuid4().hex[:6]
        self.base = Path(tempfile.mkdtemp(prefix=f"vfcluster-{run}-"))
        self.nodes = [Node(f"vfc{i + 1}-{run}@localhost", free_port(), self.base / f"n{i + 1}", free_port())
                      for i in range(size)]
        for node in self.nodes:
            node.home.mkdir()
            (node.home / "enabled_plugins").write_text("[].\n")  # no plugin listeners to collide
            (node.home / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{node.port}\n")
        self.base.chmod(0o755)
        if _user_exists("rabbitmq"):
            for path in [self.base, *self.base.rglob("*")]:
                shutil.chown(path, "rabbitmq", "rabbitmq")

    @property
    def urls(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def start(self) -> None:
        for node in self.nodes:
            self.start_node(node, wait=False)
        for node in self.nodes:
            self._await(node)
        first = self.nodes[0]
        for node in self.nodes[1:]:
            for step in (["stop_app"], ["reset"], ["join_cluster", first.name], ["start_app"]):
                self.ctl(node, *step)
        wait_for(lambda: self.running_nodes() == {n.name for n in self.nodes}, timeout=60,
                 message="all nodes running in one cluster")

    def start_node(self, node: Node, wait: bool = True) -> None:
        subprocess.run(["rabbitmq-server", "-detached"], env=node.env, check=True, timeout=60)
        if wait:
            self._await(node)

    def stop_node(self, node: Node) -> None:
        self.ctl(node, "stop")

    def running_nodes(self, via: Node | None = None) -> set[str]:
        for node in [via] if via else self.nodes:
            result = self.ctl(node, "eval", "io:format(\"~p\", [rabbit_nodes:all_running()]).", check=False)
            if result.returncode == 0:
                return set(re.findall(r"[\w.-]+@[\w.-]+", result.stdout))
        return set()

    def queue_members(self, prefix: str, via: Node | None = None) -> dict[str, tuple[str, ...]]:
        """Each quorum queue whose name starts with `prefix` → its nodes that are online members."""
        listing = self.ctl(via or self.nodes[0], "list_queues", "name", "type", "online", check=False).stdout
        members = {}
        for line in listing.splitlines():
            name, kind, online = [*line.split("\t"), "", ""][:3]
            if name.startswith(prefix) and kind == "quorum":
                members[name] = tuple(re.findall(r"[\w.-]+@[\w.-]+", online))
        return members

    def connections_on(self, node: Node) -> str:
        return self.ctl(node, "list_connections", "client_properties", check=False).stdout

    def ctl(self, node: Node, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["rabbitmqctl", "-q", "-n", node.name, *args], capture_output=True, text=True,
                              check=check, timeout=120)

    def close(self) -> None:
        for node in self.nodes:
            self.ctl(node, "stop", check=False)
        shutil.rmtree(self.base, ignore_errors=True)

    def _await(self, node: Node) -> None:
        wait_for(lambda: self.ctl(node, "await_startup", check=False).returncode == 0, timeout=90, interval=1,
                 message=f"node {node.name} started")


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
