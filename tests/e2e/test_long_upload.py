"""A nine-minute upload of 210 short utterances, transcribed WHOLE by the offline engine, with real workers.

The recording is synthesized with espeak-ng (distinct sentences, a second of silence between them), so the
test knows what was said and where; tiny.en on any CPU hears these clearly enough for the properties asserted
(first and last sentences' distinctive words, every piece's line with text, captions of a sentence or two), never
its exact words.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
import soundfile
import srt

from services.display.jobs.captions import MAX_CUE_CHARS, MAX_CUE_SECONDS
from shared.audio import SAMPLE_RATE_HZ, to_pipeline_format
from shared.config import BusSettings
from shared.messages import ImagePrompt, Transcript
from tests.e2e.harness import Pipeline
from tests.support import Broker, free_port, wait_for

pytestmark = pytest.mark.slow

UTTERANCES = 210
PAUSE_SECONDS = 1.0
LIVE_ROOM = "living"
FIRST = "Welcome to the lighthouse."  # distinctive words at the very start and end: losing either shows
LAST = "Goodbye from the volcano."
_SUBJECTS = ("The captain", "A farmer", "The baker", "My sister", "The pilot", "A doctor", "The teacher",
             "Our neighbor", "The soldier", "A sailor", "The painter", "My uncle", "The singer", "A miner",
             "The driver")
_ACTIONS = ("sang loudly.", "ran home.", "ate bread.", "fixed the car.", "read a book.", "built a fence.",
            "lost the keys.", "fed the dog.", "drank coffee.", "painted the wall.", "found a coin.", "climbed a tree.",
            "washed the dishes.", "planted roses.")


def sentences() -> list[str]:
    """210 short distinct sentences: the two distinctive ones around 208 of subject × action."""
    body = [f"{subject} {action}" for action, subject in itertools.product(_ACTIONS, _SUBJECTS)]
    return [FIRST, *body[:UTTERANCES - 2], LAST]


def spoken_recording(texts: list[str], out: Path) -> float:
    """Each text spoken by espeak-ng (16 kHz mono), a pause before each and after the last; its seconds."""
    pause = np.zeros(int(PAUSE_SECONDS * SAMPLE_RATE_HZ), dtype=np.int16)
    pieces = [pause]
    for text in texts:
        wav = subprocess.run(["espeak-ng", "-v", "en-us", "-s", "170", "--stdout", text], capture_output=True,
                             check=True, timeout=30).stdout
        samples, rate = soundfile.read(io.BytesIO(wav), dtype="int16")
        pieces += [to_pipeline_format(samples, rate), pause]
    audio = np.concatenate(pieces)
    soundfile.write(out, audio, SAMPLE_RATE_HZ, subtype="PCM_16")
    return len(audio) / SAMPLE_RATE_HZ


def live_transcripts(room: str) -> list[Transcript]:
    """What a transcriber would publish for a room's mic: picturable talk, enough words for a window."""
    said = ("we sailed the little red boat past the old lighthouse", "the harbour was full of fishing boats",
            "seagulls circled the lighthouse in the evening light")
    return [Transcript(room=room, source="mic1", audio_id=f"live-audio-{i}", text=text, engine="faster-whisper",
                       model="tiny.en", audio_seconds=3.0, processing_seconds=0.3, sequence=i)
            for i, text in enumerate(said)]


def words_of(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


@pytest.fixture
def pipeline(tmp_path: Path, bus_settings: BusSettings, broker: Broker) -> Iterator[Pipeline]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    p = Pipeline(bus_settings.namespace, bus_settings.amqp_url, tmp_path, VOXFRAME_PROMPT_WINDOW_SECONDS="5",
                 VOXFRAME_PROMPT_MIN_WORDS="3", VOXFRAME_HEARTBEAT_SECONDS="5")
    display_port = free_port()
    p.add("display", "display", "--host", "127.0.0.1", "--port", str(display_port), "--display-id", "long",
          http_port=display_port)
    p.add("transcriber", "transcriber", "--model", "tiny.en")
    p.add("prompter", "prompter", "--prefetch", "2")  # far fewer than the job's lines: it must never wait on itself
    p.add("generator", "generator", "--backend", "poster")
    broker.extra_queues.add(f"{bus_settings.namespace}.display.long")
    yield p
    p.stop_all()


@pytest.mark.timeout(1500)
def test_a_nine_minute_upload_is_transcribed_whole_while_live_rooms_still_get_prompts(
        pipeline: Pipeline, broker: Broker, tmp_path: Path) -> None:
    texts = sentences()
    assert len(set(texts)) == UTTERANCES
    recording = tmp_path / "long.wav"
    audio_seconds = spoken_recording(texts, recording)
    assert 500 <= audio_seconds <= 600, audio_seconds  # about nine minutes, within the display's 600 s limit
    live_prompts = broker.tap("prompt.#")
    for worker in pipeline.workers.values():
        worker.start()
    for worker in pipeline.workers.values():
        worker.wait_healthy(120)
    base = f"http://127.0.0.1:{pipeline.workers['display'].port}"

    data = recording.read_bytes()
    started = time.monotonic()
    accepted = requests.post(f"{base}/api/uploads", files={"audio": ("long talk.wav", data)}, timeout=120)
    assert accepted.status_code == 202, accepted.text
    job_id, segments = accepted.json()["job_id"], accepted.json()["segments"]
    # heard in pieces of the cutter's segments (about one an utterance) joined up to 25 s
    assert UTTERANCES / 12 <= segments <= UTTERANCES / 6, segments

    def job() -> dict:
        return requests.get(f"{base}/api/uploads/{job_id}", timeout=10).json()

    # A live room talks while the upload is being transcribed: its prompt must not wait for the job.
    wait_for(lambda: job()["status"] == "transcribing", timeout=120, interval=0.5, message="the job transcribing")
    for transcript in live_transcripts(LIVE_ROOM):
        broker.publish_raw(transcript.routing_key, transcript.to_json(), transcript.KIND,
                           message_id=str(transcript.id))
    _, body = wait_for(lambda: broker.get(live_prompts), timeout=120, interval=0.2, message="a live prompt")
    live_prompt = ImagePrompt.from_json(body)
    during = job()
    assert live_prompt.room == LIVE_ROOM and live_prompt.job_id is None
    assert during["status"] != "done", "the live prompt waited for the upload"
    live_after = time.monotonic() - started

    transcribed_at: float | None = None
    last_print = 0.0

    def finished() -> dict | None:
        nonlocal transcribed_at, last_print
        broker.connection.process_data_events(0)  # the test's own broker connection answers its heartbeats
        state = job()
        now = time.monotonic() - started
        if transcribed_at is None and state["transcribed"] == state["segments"]:
            transcribed_at = now
        if now - last_print >= 15:
            last_print = now
            print(f"[{now:6.1f} s] {state['status']}: {state['transcribed']}/{state['segments']} transcribed, "
                  f"{len(state['images'])} image(s)", flush=True)
        return state if state["status"] in ("done", "error") else None

    done = wait_for(finished, timeout=900, interval=1.0, message="the upload job done")
    wall = time.monotonic() - started
    assert done["status"] == "done", done["error"]
    assert transcribed_at is not None

    # Every segment was transcribed and nothing of the job went to the dead-letter or dropped queues.
    assert done["segments"] == segments and done["transcribed"] == segments
    t = broker.topology
    lost = [body for queue in (t.dead.name, t.dropped.name) for _, body in broker.drain(queue)
            if job_id.encode() in body]
    assert not lost, f"{len(lost)} message(s) of the job dead-lettered or dropped: {lost[:2]}"

    lines = done["lines"]
    spoken = [line for line in lines if line["text"].strip()]
    assert len(spoken) == segments, f"only {len(spoken)} of {segments} lines have text"
    heard_first = words_of(" ".join(line["text"] for line in lines[:2]))
    heard_last = words_of(" ".join(line["text"] for line in lines[-2:]))
    assert {"welcome", "lighthouse"} & heard_first, f"the START was lost: {[line['text'] for line in lines[:2]]}"
    assert {"goodbye", "volcano"} & heard_last, f"the END was lost: {[line['text'] for line in lines[-2:]]}"
    starts = [line["start_seconds"] for line in lines]
    assert starts == sorted(starts) and lines[-1]["end_seconds"] <= audio_seconds + 0.1

    # The transcript downloads as a paragraph per line, and as captions of about a sentence each (a line holds up
    # to 25 s of talk: split by its words' times, no cue stays up longer than a subtitle should).
    download = f"{base}/api/uploads/{job_id}/transcript"
    txt = requests.get(f"{download}.txt", timeout=10)
    assert txt.status_code == 200 and txt.text.splitlines() == [line["text"].strip() for line in spoken]
    vtt = requests.get(f"{download}.vtt", timeout=10).text
    cues = list(srt.parse(requests.get(f"{download}.srt", timeout=10).text))
    assert vtt.startswith("WEBVTT") and vtt.count(" --> ") == len(cues) >= 3 * len(spoken), len(cues)
    assert all((c.end - c.start).total_seconds() <= MAX_CUE_SECONDS and len(c.content) <= MAX_CUE_CHARS
               for c in cues)
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))

    # At least one picture, each naming real lines of the job (lines that were heard).
    assert done["images"] and all(image["job_id"] == job_id for image in done["images"])
    for image in done["images"]:
        numbers = done["image_lines"][image["id"]]
        assert numbers and all(0 <= n < segments and lines[n]["text"].strip() for n in numbers), numbers

    rtf = transcribed_at / audio_seconds
    print(json.dumps({"upload_bytes": len(data), "audio_seconds": round(audio_seconds, 1), "segments": segments,
                      "lines_with_text": len(spoken), "cues": len(cues), "live_prompt_after_s": round(live_after, 1),
                      "transcribed_after_s": round(transcribed_at, 1), "wall_to_done_s": round(wall, 1),
                      "transcription_rtf": round(rtf, 3), "images": len(done["images"])}), flush=True)
