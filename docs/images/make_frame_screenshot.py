"""Take the README's screenshot: a real display showing an illustrator picture on a frame, in headless Chromium.

    .venv/bin/python docs/images/make_frame_screenshot.py

Needs the local RabbitMQ (`make run` or `make test` starts it) and /usr/bin/chromium; uses a namespace of its own
and deletes it afterwards. Writes frame.png beside this script.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pika
import requests
from PIL import Image

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from services.generator.engines import ImageRequest
from services.generator.engines.illustrator import IllustratorBackend
from shared.bus import Bus, Topology
from shared.bus.teardown import delete_namespace
from shared.config import BusSettings
from shared.messages import GeneratedImage, Keyword

KEYWORDS = ("tent", "campfire", "owl", "marshmallows", "stars")
EXCERPT = "remember the owl that watched us toast marshmallows by the campfire"
PORT = 8097
SIZE = (1280, 720)
BUS = BusSettings(namespace=f"screenshot{uuid.uuid4().hex[:6]}")


def picture() -> GeneratedImage:
    request = ImageRequest(f"a watercolor of {', '.join(KEYWORDS)}", KEYWORDS, "watercolor", "cheerful", *SIZE, 1, 3)
    [painted] = IllustratorBackend("JPEG").generate(request)
    return GeneratedImage(room="living-room", source="sofa", image=painted.data, mime_type="image/jpeg",
                          width=SIZE[0], height=SIZE[1], backend="illustrator", prompt_id=str(uuid.uuid4()),
                          prompt_text=request.text, style="watercolor", excerpt=EXCERPT, generation_seconds=0.1,
                          keywords=tuple(Keyword(text=k, score=1 - i / 10) for i, k in enumerate(KEYWORDS)),
                          depicted=painted.depicted)


def wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the display at {url} did not become healthy")


def screenshot(url: str, image: GeneratedImage) -> bytes:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": SIZE[0], "height": SIZE[1]})
        page.goto(f"{url}/frame/living-room")
        page.wait_for_selector("#waiting p")
        bus = Bus("screenshot", BUS)
        bus.start()
        bus.wait_connected(10)
        bus.publish(image)
        bus.stop()
        page.wait_for_function("id => document.getElementById('stage').dataset.imageId === id", arg=str(image.id))
        page.wait_for_selector("#caption.shown")
        page.wait_for_timeout(2000)  # the crossfade and the caption's fade-in end
        shot = page.screenshot()
        browser.close()
        return shot


def remove_namespace() -> None:
    topology = Topology.from_settings(BUS)
    connection = pika.BlockingConnection(pika.URLParameters(BUS.amqp_url))
    delete_namespace(connection.channel(), topology, [topology.display("screenshot").name])
    connection.close()


def main() -> None:
    url = f"http://127.0.0.1:{PORT}"
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "VOXFRAME_NAMESPACE": BUS.namespace}
        display = subprocess.Popen([sys.executable, "-m", "shared.cli", "display", "--host", "127.0.0.1",
                                    "--port", str(PORT), "--display-id", "screenshot", "--data-dir", data],
                                   cwd=REPO, env=env)
        try:
            wait_healthy(url)
            shot = screenshot(url, picture())
        finally:
            display.terminate()
            display.wait(15)
            remove_namespace()
    path = HERE / "frame.png"
    Image.open(io.BytesIO(shot)).resize((960, 540), Image.Resampling.LANCZOS).save(path, "PNG", optimize=True)
    print(f"{path.relative_to(REPO)}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
