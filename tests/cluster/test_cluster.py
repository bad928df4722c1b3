"""Beyond one broker node: quorum queues keep the stage queues' limits, and the pipeline survives losing the
node its workers are connected to, on a real three-node RabbitMQ cluster started on this machine."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.bus import Bus, PublishRefused
from shared.config import BusSettings
from shared.messages import ImagePrompt, Keyword
from tests.bus.test_bus import audio
from tests.cluster.rabbit import Cluster
from tests.conftest import RUN_PREFIX
from tests.e2e.harness import Pipeline
from tests.support import AMQP_URL, Broker, free_port, wait_for

ROOM = "atrium"
PROMPTS = 60


def test_stage_queues_keep_their_limits_as_quorum_queues() -> None:
    """Length with drop-head, dead-lettering of what is dropped and the queue type itself, on quorum queues."""
    settings = BusSettings(amqp_url=AMQP_URL, namespace=f"{RUN_PREFIX}-q{uuid.uuid4().hex[:6]}", queue_type="quorum",
                           audio_queue_max=3, connect_timeout_seconds=10)
    declarer = Bus("test", settings)
    declarer.start()
    broker = Broker(settings)
    try:
        declarer.wait_connected(10)
        declarer.publish(*[audio(i) for i in range(5)])
        kept = wait_for(lambda: broker.depth(broker.topology.audio.name) == 3
                                and broker.drain(broker.topology.audio.name),
                        message="three newest kept")
        assert [json.loads(body)["sequence"] for _, body in kept] == [2, 3, 4]
        dropped = wait_for(lambda: broker.drain(broker.topology.dropped.name), message="the two oldest dropped aside")
        assert sorted(json.loads(body)["sequence"] for _, body in dropped) == [0, 1]
        listing = subprocess.run(["rabbitmqctl", "-q", "list_queues", "name", "type"], capture_output=True, text=True,
                                 timeout=60, check=True).stdout
        types = dict(line.split("\t")[:2] for line in listing.splitlines() if line.startswith(settings.namespace))
        assert set(types.values()) == {"quorum"} and len(types) == len(broker.topology.stage_queues()), types
    finally:
        declarer.stop(10)
        broker.cleanup()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    c = Cluster(3)
    try:
        c.start()
        yield c
    finally:
        c.close()


@pytest.mark.slow
def test_a_quorum_queue_short_of_a_member_is_made_whole(cluster: Cluster) -> None:
    """What a queue declared while a node was away (or before it joined) looks like: no member there, or one whose
    process is not running. The operator's commands (grow; delete_member and add_member) give it every node."""
    namespace = f"{RUN_PREFIX}-w{uuid.uuid4().hex[:6]}"
    settings = BusSettings(amqp_url=cluster.urls, namespace=namespace, queue_type="quorum", connect_timeout_seconds=30)
    declarer = Bus("cluster-declare", settings)
    declarer.start()
    try:
        declarer.wait_connected(30)
        cluster.make_whole(namespace)
        short, stopped = f"{namespace}.audio", f"{namespace}.prompts"
        third = cluster.nodes[2]
        assert cluster.queues_ctl(cluster.nodes[0], "delete_member", short, third.name).returncode == 0
        internal = "%2F_" + stopped  # the Ra server's registered name: vhost and queue
        cluster.ctl(third, "eval", f"ra:stop_server(quorum_queues, {{'{internal}', node()}}).")
        members = wait_for(lambda: (q := cluster.quorum_queues(namespace))[short][0] and
                           third.name not in q[short][0] and third.name not in q[stopped][1] and q,
                           timeout=30, message="one queue without a member on the third node, one with it stopped")
        assert third.name in members[stopped][0], "the stopped member is still a member"
        cluster.make_whole(namespace)
        assert all(set(online) == {n.name for n in cluster.nodes}
                   for _, online, _ in cluster.quorum_queues(namespace).values())
    finally:
        declarer.stop(10)


def _images(port: int) -> list[dict]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/rooms/{ROOM}/images?limit=200", timeout=5) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def _prompt(i: int) -> ImagePrompt:
    return ImagePrompt(room=ROOM, source="cluster-test", text=f"lighthouse number {i}, watercolor",
                       keywords=(Keyword(text="lighthouse", score=1.0),), width=64, height=64, seed=i)


@pytest.mark.slow
def test_the_pipeline_survives_losing_the_node_it_is_connected_to(cluster: Cluster, tmp_path: Path) -> None:
    """Workers list all three nodes and use quorum queues. The node they are on is stopped mid-stream: every
    worker is on another node within 10 s, every prompt the broker confirmed becomes exactly one picture, the
    stream goes on, and the node rejoins when it returns."""
    namespace = f"{RUN_PREFIX}-cl{uuid.uuid4().hex[:6]}"
    settings = BusSettings(amqp_url=cluster.urls, namespace=namespace, queue_type="quorum", heartbeat_seconds=5,
                           prompt_queue_max=1000, connect_timeout_seconds=30)
    pipeline = Pipeline(namespace, cluster.urls, tmp_path, VOXFRAME_QUEUE_TYPE="quorum", VOXFRAME_HEARTBEAT_SECONDS="5",
                        VOXFRAME_PROMPT_QUEUE_MAX="1000", VOXFRAME_GENERATOR_BACKEND="poster")
    port = free_port()
    display = pipeline.add("display", "display", "--host", "127.0.0.1", "--port", str(port), "--display-id", "cl",
                           "--default-room", ROOM, http_port=port)
    generator = pipeline.add("generator", "generator")
    publisher = Bus("cluster-test", settings)
    confirmed: list[str] = []
    try:
        for worker in (display, generator):
            worker.start()
        for worker in (display, generator):
            worker.wait_healthy(90)
        publisher.start()
        publisher.wait_connected(30)

        def stream() -> None:
            for i in range(PROMPTS):
                prompt = _prompt(i)
                while True:
                    try:
                        publisher.publish(prompt)  # returns once the broker confirmed it: it must not be lost
                        break
                    except PublishRefused:  # the queue's new leader is being elected: not taken, send again
                        time.sleep(0.2)
                confirmed.append(str(prompt.id))
                time.sleep(0.25)  # a steady stream, not a burst

        streaming = threading.Thread(target=stream)
        streaming.start()
        wait_for(lambda: len(confirmed) >= 15, timeout=30, message="the stream under way")
        first, others = cluster.nodes[0], cluster.nodes[1:]
        cluster.make_whole(namespace)  # a queue on two nodes would lose its majority with the first
        on_first = cluster.connections_on(first)
        assert "voxframe-generator@" in on_first and "voxframe-display@" in on_first, on_first
        cluster.stop_node(first)
        stopped_at = time.monotonic()

        def moved() -> bool:
            elsewhere = "".join(cluster.connections_on(n) for n in others)
            return all(f"voxframe-{w}@" in elsewhere for w in ("generator", "display", "cluster-test"))

        wait_for(moved, timeout=10, interval=0.2, message="every worker on another node")
        reconnect_seconds = time.monotonic() - stopped_at
        streaming.join(120)
        assert len(confirmed) == PROMPTS, (f"queues' online members: {cluster.queue_members(namespace, others[0])}\n"
                                           f"{cluster.quorum_status(namespace, others[0])}")
        shown = wait_for(lambda: len(images := _images(port)) >= PROMPTS and images, timeout=120, interval=0.5,
                         message="a picture for every confirmed prompt")
        assert sorted(i["prompt_id"] for i in shown) == sorted(confirmed), "no confirmed prompt lost, none twice"
        assert len({i["id"] for i in shown}) == len(shown) == PROMPTS, "no image shown twice"
        assert display.healthy() and generator.healthy()
        cluster.start_node(first)
        wait_for(lambda: cluster.running_nodes() == {n.name for n in cluster.nodes}, timeout=60,
                 message="the node rejoined")
        print(f"workers on other nodes {reconnect_seconds:.1f} s after the stop")
    finally:
        publisher.stop(10)
        pipeline.stop_all()
