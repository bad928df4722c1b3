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
    down and back; `close()` stops all and deletes their files. `conf` is added to each node's rabbitmq.conf.
    Nodes run as the `rabbitmq` user, as the Debian package's wrapper does, so their directories are handed to it."""

    def __init__(self, size: int = 3, conf: str = "") -> None:
        run = uuid.uuid4().hex[:6]
        self.base = Path(tempfile.mkdtemp(prefix=f"vfcluster-{run}-"))
        self.nodes = [Node(f"vfc{i + 1}-{run}@localhost", free_port(), self.base / f"n{i + 1}", free_port())
                      for i in range(size)]
        for node in self.nodes:
            node.home.mkdir()
            (node.home / "enabled_plugins").write_text("[].\n")  # no plugin listeners to collide
            (node.home / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{node.port}\n{conf}")
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
        return {name: online for name, (_, online, _) in self.quorum_queues(prefix, via).items()}

    def quorum_queues(self, prefix: str, via: Node | None = None) -> dict[str, tuple[tuple[str, ...], ...]]:
        """Each quorum queue whose name starts with `prefix` → (its members, those online, its leader)."""
        listing = self.ctl(via or self.nodes[0], "list_queues", "name", "type", "members", "online", "leader",
                           check=False).stdout
        queues = {}
        for line in listing.splitlines():
            name, kind, *columns = [*line.split("\t"), "", "", ""][:5]
            if name.startswith(prefix) and kind == "quorum":
                queues[name] = tuple(tuple(re.findall(r"[\w.-]+@[\w.-]+", column)) for column in columns)
        return queues

    def make_whole(self, prefix: str, timeout: float = 90) -> None:
        """Every quorum queue of `prefix` gets a running member on every node, as an operator would make it:
        `rabbitmq-queues grow` adds the member a queue lacks (declared while its node was away or before it
        joined), and a member whose process is not running on a running node is replaced (delete_member, then
        add_member). Returns once every queue has a leader and all its members online."""
        everyone = {node.name for node in self.nodes}

        def whole() -> bool:
            queues = self.quorum_queues(prefix)
            for node in self.nodes:
                if any(node.name not in members for members, _, _ in queues.values()):
                    self.queues_ctl(node, "grow", node.name, "all", "--vhost-pattern", "^/$",
                                    "--queue-pattern", f"^{re.escape(prefix)}")
            for name, (members, online, _) in queues.items():
                for stuck in set(members) & everyone - set(online):
                    via = next(n for n in self.nodes if n.name != stuck)
                    self.queues_ctl(via, "delete_member", name, stuck)
                    self.queues_ctl(via, "add_member", name, stuck)
            return bool(queues) and all(set(online) == everyone and leader
                                        for _, online, leader in self.quorum_queues(prefix).values())

        wait_for(whole, timeout=timeout, interval=1, message=f"every quorum queue of {prefix} whole on every node")

    def queues_ctl(self, node: Node, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["rabbitmq-queues", "-q", "-n", node.name, *args], capture_output=True, text=True,
                              check=False, timeout=120)

    def quorum_status(self, prefix: str, via: Node) -> str:
        """Each quorum queue's Raft view (members, states, terms, indexes) as `via` sees it, for a failure's message."""
        return "\n".join(subprocess.run(["rabbitmq-queues", "-q", "-n", via.name, "quorum_status", name],
                                        capture_output=True, text=True, timeout=60, check=False).stdout
                         for name in self.queue_members(prefix, via))

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
