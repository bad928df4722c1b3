"""`voxframe gpu-server`: a backend served over HTTP in the DALL·E Playground and OpenAI Images shapes.

One generation at a time (one GPU), a short bounded queue behind it and a clear 503 + Retry-After beyond,
readiness that says "loading" until the model has painted once, bearer-token auth (required beyond loopback
unless started `--insecure`), and small request bodies: 413 before reading a large one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.generator.engines import MIME_BY_FORMAT, BackendError, ImageBackend, ImageRequest, Picture
from services.generator.metrics import GPU_IN_FLIGHT, GPU_REQUESTS, GPU_SECONDS
from shared.http_limits import capped
from shared.json_limits import is_whole_number

_LOGGER = logging.getLogger(__name__)
_FORMATS = {mime: name.lower() for name, mime in MIME_BY_FORMAT.items()}  # the API names formats in lower case
MAX_BODY_BYTES = 64 * 1024  # a prompt and a few numbers; anything bigger is refused before it is read
BODY_SECONDS = 30.0  # the longest pause in a body (which keeps a pace: `capped`); past it, 408 and let go
MAX_SEED = 2**64 - 1  # what torch.Generator.manual_seed takes
GONE_POLL_SECONDS = 0.5  # how often a waiting request looks whether its client is still there
MAX_PROMPT_CHARS = 4000  # DALL·E 3's limit; the generator's own prompts are at most 1,000

Gone = Callable[[], Awaitable[bool]]  # whether the request's client has hung up


class Busy(Exception):
    def __init__(self, message: str, retry_after_seconds: int | None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class GenerationQueue:
    """Loads the backend in the background, then runs requests one at a time on a single worker thread."""

    def __init__(self, load: Callable[[], ImageBackend], max_waiting: int = 4) -> None:
        self.max_waiting = max_waiting
        self.backend: ImageBackend | None = None
        self.error: str | None = None
        self.in_flight = 0
        self._recent_seconds: deque[float] = deque([10.0], maxlen=20)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gpu")
        self._load = load

    def start_loading(self) -> None:
        threading.Thread(target=self._load_and_warm, name="gpu-load", daemon=True).start()

    def _load_and_warm(self) -> None:
        try:
            backend = self._load()
            started = time.perf_counter()
            backend.generate(ImageRequest("warm-up", width=128, height=128))
            _LOGGER.info("Warm: first generation took %.1f s; ready", time.perf_counter() - started)
            self.backend = backend
        except Exception as exc:  # reported by /readyz; the process stays up so operators can read why
            _LOGGER.exception("Loading the backend failed")
            self.error = f"{type(exc).__name__}: {exc}"

    @property
    def status(self) -> str:
        return "ready" if self.backend is not None else ("failed" if self.error else "loading")

    async def generate(self, request: ImageRequest, gone: Gone | None = None
                       ) -> list[Picture]:
        """The pictures; `gone()` says whether the client has hung up, which takes a waiting request out of the
        queue (a client that timed out and retried would otherwise be painted for twice, and fill the queue)."""
        backend = self.backend
        if backend is None:
            raise Busy(f"model {self.status}" + (f": {self.error}" if self.error else ""),
                       None if self.error else 10)
        if self.in_flight > self.max_waiting:
            wait = sum(self._recent_seconds) / len(self._recent_seconds) * self.in_flight
            raise Busy(f"{self.in_flight} requests ahead (queue of {self.max_waiting} is full)", math.ceil(wait))
        loop = asyncio.get_running_loop()
        self._count(+1)
        job = self._executor.submit(self._timed, backend, request)
        # counted out when the thread is done with it (or it is taken out unstarted), not when its client leaves
        job.add_done_callback(lambda _: loop.call_soon_threadsafe(self._count, -1))
        answer = asyncio.wrap_future(job)
        while not (await asyncio.wait({answer}, timeout=GONE_POLL_SECONDS))[0]:
            if gone is not None and await gone():
                job.cancel()  # a waiting request never runs; a running one finishes for nobody
                raise ClientGone(f"the client hung up ({'painting' if job.running() else 'waiting'})")
        return answer.result()

    def _timed(self, backend: ImageBackend, request: ImageRequest) -> list[Picture]:
        started = time.perf_counter()
        pictures = backend.generate(request)
        self._recent_seconds.append(time.perf_counter() - started)
        GPU_SECONDS.observe(self._recent_seconds[-1])
        return pictures

    def _count(self, change: int) -> None:
        self.in_flight += change
        GPU_IN_FLIGHT.set(self.in_flight)


class ClientGone(Exception):
    """The client hung up before its pictures were ready: nobody will read the answer."""


class BadRequest(ValueError):
    pass


class TooLarge(BadRequest):
    pass


class TooSlow(BadRequest):
    pass


@dataclass(frozen=True)
class ServerState:
    """What the routes share, on `app.state.gpu`."""

    queue: GenerationQueue
    token: str | None
    model_name: str
    max_images: int
    body_seconds: float = BODY_SECONDS

    def authorised(self, request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return self.token is None or hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode())


def create_app(queue: GenerationQueue, token: str | None = None, model_name: str = "voxframe",
               max_images: int = 4, body_seconds: float = BODY_SECONDS) -> Starlette:
    """The ASGI app; `queue.start_loading()` runs at startup so `/` and `/readyz` answer while the model loads."""
    app = Starlette(routes=ROUTES, lifespan=_lifespan)
    app.state.gpu = ServerState(queue, token, model_name, max_images, body_seconds)
    return app


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    _state(app).queue.start_loading()
    yield


def _state(app: Starlette) -> ServerState:
    state: ServerState = app.state.gpu
    return state


async def health(_: Request) -> Response:
    return JSONResponse({"success": True})


async def ready(request: Request) -> Response:
    state = _state(request.app)
    queue = state.queue
    body = {"status": queue.status, "model": state.model_name, "in_flight": queue.in_flight}
    if queue.error:
        body["error"] = queue.error
    return JSONResponse(body, status_code=200 if queue.status == "ready" else 503)


async def metrics(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def models(request: Request) -> Response:
    state = _state(request.app)
    if not state.authorised(request):
        return JSONResponse(_openai_error("missing or wrong bearer token", "unauthorized"), 401)
    return JSONResponse({"object": "list", "data": [{"id": state.model_name, "object": "model", "created": 0,
                                                     "owned_by": "voxframe"}]})


async def playground(request: Request) -> Response:
    return await _answer(request, "playground", _playground, _playground_error)


async def openai_images(request: Request) -> Response:
    return await _answer(request, "openai", _openai_images, _openai_error)


async def _playground(state: ServerState, body: dict[str, Any], gone: Gone) -> Response:
    text, count = body.get("text"), body.get("num_images", 1)
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("'text' must be a non-empty string")
    pictures = await state.queue.generate(_image_request(text, _count(count, state.max_images), body), gone)
    return JSONResponse({"generatedImgs": [_b64(p) for p in pictures],
                         "generatedImgsFormat": _FORMATS[pictures[0].mime_type]})


def _playground_error(message: str, code: str) -> dict[str, object]:
    return {"success": False, "error": message}


async def _openai_images(state: ServerState, body: dict[str, Any], gone: Gone) -> Response:
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadRequest("'prompt' must be a non-empty string")
    if body.get("response_format", "b64_json") != "b64_json":
        raise BadRequest("only response_format 'b64_json' is supported")
    width, height = _size(body.get("size") or "auto")
    pictures = await state.queue.generate(
        _image_request(prompt, _count(body.get("n", 1), state.max_images), {**body, "width": width, "height": height}),
        gone)
    return JSONResponse({"created": int(time.time()), "data": [{"b64_json": _b64(p)} for p in pictures]})


def _openai_error(message: str, code: str) -> dict[str, object]:
    kind = "invalid_request_error" if code in ("bad_request", "unauthorized") else "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


async def _answer(request: Request, api: str, run: Callable[[ServerState, dict[str, Any], Gone], Awaitable[Response]],
                  error: Callable[[str, str], dict[str, object]]) -> Response:
    """Authorise, read the capped JSON body, run the API's handler, and answer every failure in the API's shape."""
    state = _state(request.app)
    status, headers = 200, {}
    try:
        if not state.authorised(request):
            status, headers = 401, {"WWW-Authenticate": "Bearer"}
            return JSONResponse(error("missing or wrong bearer token", "unauthorized"), status, headers)
        try:
            body = json.loads(await capped(
                request, MAX_BODY_BYTES, TooLarge(f"body is over the {MAX_BODY_BYTES}-byte limit"), state.body_seconds,
                TooSlow).body())
        except (TooLarge, TooSlow):
            raise
        except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested thousands deep
            raise BadRequest(f"body is not JSON: {type(exc).__name__}: {str(exc)[:200]}") from exc
        if not isinstance(body, dict):
            raise BadRequest("body must be a JSON object")
        return await run(state, body, request.is_disconnected)
    except TooLarge as exc:
        status = 413
        return JSONResponse(error(str(exc), "too_large"), status)
    except TooSlow as exc:
        status = 408
        return JSONResponse(error(str(exc), "timeout"), status, {"Connection": "close"})
    except BadRequest as exc:
        status = 400
        return JSONResponse(error(str(exc), "bad_request"), status)
    except Busy as exc:
        status = 503
        if exc.retry_after_seconds is not None:
            headers = {"Retry-After": str(max(1, exc.retry_after_seconds))}
        return JSONResponse(error(str(exc), "busy"), status, headers)
    except ClientGone as exc:
        status = 499  # nginx's "client closed request": nobody reads this answer, the metric counts it
        _LOGGER.info("%s request dropped: %s", api, exc)
        return Response(status_code=status)
    except BackendError as exc:
        status = 500
        return JSONResponse(error(str(exc), exc.reason), status)
    except Exception as exc:  # a backend's bug or a failure it does not wrap: still a 500 in the API's shape, counted
        status = 500  # as one (it was Starlette's text 500, counted as a 200: a failing GPU looked healthy)
        _LOGGER.exception("%s request failed", api)
        return JSONResponse(error(f"generation failed: {type(exc).__name__}", "internal_error"), status)
    finally:
        GPU_REQUESTS.labels(api, str(status)).inc()


ROUTES = [
    Route("/", health), Route("/readyz", ready), Route("/metrics", metrics),
    Route("/generate", playground, methods=["POST"]), Route("/dalle", playground, methods=["POST"]),
    Route("/v1/images/generations", openai_images, methods=["POST"]), Route("/v1/models", models),
]


def _image_request(text: str, count: int, body: dict[str, Any]) -> ImageRequest:
    if len(text) > MAX_PROMPT_CHARS:
        raise BadRequest(f"the prompt is {len(text)} characters; at most {MAX_PROMPT_CHARS} are accepted")
    try:
        text.encode()
    except UnicodeEncodeError as exc:  # JSON's "\ud800": Python's json takes a lone surrogate, no encoder does
        raise BadRequest(f"the prompt is not valid Unicode: a lone surrogate at character {exc.start}") from exc
    values = {name: body.get(name, default) for name, default in (("width", 512), ("height", 512), ("seed", 0))}
    for name, value in values.items():
        if not is_whole_number(value) or value < 0:
            raise BadRequest(f"'{name}' must be a non-negative integer")
    if values["seed"] > MAX_SEED:
        raise BadRequest(f"'seed' must be an integer from 0 to {MAX_SEED} (2**64 - 1)")
    if not (64 <= values["width"] <= 2048 and 64 <= values["height"] <= 2048):
        raise BadRequest("width and height must be between 64 and 2048")
    return ImageRequest(text=text, num_images=count, **values)


def _count(value: object, max_images: int) -> int:
    if not is_whole_number(value) or not 1 <= value <= max_images:
        raise BadRequest(f"the number of images must be an integer from 1 to {max_images}")
    return value


def _size(value: object) -> tuple[int, int]:
    if value == "auto":
        return 512, 512
    try:
        width, height = (int(part) for part in str(value).lower().split("x"))
    except ValueError as exc:
        raise BadRequest(f"size must be 'WIDTHxHEIGHT' or 'auto', not {value!r}") from exc
    return width, height


def _b64(picture: Picture) -> str:
    return base64.b64encode(picture.data).decode("ascii")
