"""Upload jobs end to end on the real broker, with the test playing transcriber, prompter and generator by
publishing the real messages they would (the real workers run in test_browser's slow test and tests/e2e)."""

from __future__ import annotations

import io
import json
import sqlite3
import time
import urllib.parse
from pathlib import Path

import numpy as np
import requests
import soundfile
from websockets.sync.client import connect

from shared.audio.pieces import MAX_PIECE_SECONDS
from shared.messages import (
    NOTHING_TO_PAINT,
    AudioSegment,
    GeneratedImage,
    ImagePrompt,
    JobText,
    JobUnpainted,
    Keyword,
    Transcript,
    Word,
)
from tests.display.conftest import DisplayProcess, png, publish
from tests.support import Broker, stays, wait_for


def two_utterances(speech_dir: Path) -> bytes:
    """Two utterances, a pause between them making the recording longer than a piece holds (25 s): a job of two
    lines (a recording that fits in one piece is heard whole, one line; utterances that fit one together, one)."""
    first, rate = soundfile.read(speech_dir / "pocketsphinx_goforward.wav", dtype="int16")
    second, _ = soundfile.read(speech_dir / "speechbrain_spk1_snt1.wav", dtype="int16")
    pause = np.zeros(int((MAX_PIECE_SECONDS + 1) * rate) - len(first) - len(second), dtype=np.int16)
    out = io.BytesIO()
    soundfile.write(out, np.concatenate([first, pause, second]), rate, format="WAV")
    return out.getvalue()


def upload(display: DisplayProcess, data: bytes, name: str = "talk.wav", **form: str) -> requests.Response:
    return requests.post(f"{display.url}/api/uploads", files={"audio": (name, data)}, data=form, timeout=30)


def job(display: DisplayProcess, job_id: str) -> dict:
    return requests.get(f"{display.url}/api/uploads/{job_id}", timeout=5).json()


def jobs_stored(display: DisplayProcess) -> int:
    with sqlite3.connect(display.data_dir / "gallery.sqlite3") as db:
        return int(db.execute("SELECT COUNT(*) FROM upload_jobs").fetchone()[0])


def transcribe(segment: AudioSegment, text: str) -> Transcript:
    """What the transcriber publishes for a job's segment (always, even when nothing was heard)."""
    return segment.derive(Transcript, audio_id=str(segment.id), text=text, engine="faster-whisper", model="tiny.en",
                          audio_seconds=segment.duration_seconds, processing_seconds=0.1, sequence=segment.sequence)


def test_an_upload_goes_through_every_step_to_done(broker: Broker, display: DisplayProcess, speech_dir: Path) -> None:
    texts = broker.tap("job.text.#")
    live = broker.tap("audio.#", "transcript.#", "control.#")
    accepted = upload(display, two_utterances(speech_dir), room="kitchen")
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    assert accepted.headers["location"] == f"/jobs/{job_id}"
    with connect(f"ws://127.0.0.1:{display.port}/ws/jobs/{job_id}", open_timeout=5) as socket:
        statuses = [json.loads(socket.recv(5))["job"]["status"]]
        segments = [AudioSegment.from_json(body) for _, body in broker.drain(broker.topology.job_audio.name)]
        assert len(segments) == accepted.json()["segments"] >= 2
        assert {(s.job_id, s.room, s.source) for s in segments} == {(job_id, "kitchen", "upload")}
        assert broker.depth(broker.topology.audio.name) == 0  # nothing of the upload on the live queue
        said = [transcribe(s, f"line {s.sequence} about the harbour") for s in segments]
        publish(broker, said[0])  # one step at a time, so the page sees each (it shows the job as it now stands)
        while statuses[-1] != "transcribing":
            statuses.append(json.loads(socket.recv(5))["job"]["status"])
        publish(broker, *said[1:])

        _, body = wait_for(lambda: broker.get(texts), timeout=5, message="the job's text for the prompter")
        text = JobText.from_json(body)
        assert (text.job_id, text.room, text.source) == (job_id, "kitchen", "upload")
        assert [line.text for line in text.lines] == [t.text for t in said]  # the whole transcript, in order
        while statuses[-1] != "choosing":  # the page shows each step only if the next waits for it
            statuses.append(json.loads(socket.recv(5))["job"]["status"])
        prompt = segments[0].derive(ImagePrompt, text="a harbour at dawn", num_images=2,
                                    keywords=(Keyword(text="harbour", score=1.0),),
                                    transcript_ids=(str(said[1].id),))
        assert prompt.routing_key.startswith("job.prompt.")
        publish(broker, prompt)
        while statuses[-1] != "painting":
            statuses.append(json.loads(socket.recv(5))["job"]["status"])
        publish(broker, *(prompt.derive(GeneratedImage, key=str(i), image=png((20, 40 * i, 90)), mime_type="image/png",
                                        width=320, height=180, backend="poster", prompt_id=str(prompt.id),
                                        prompt_text=prompt.text, index=i, generation_seconds=0.1) for i in range(2)))
        while statuses[-1] != "done":
            statuses.append(json.loads(socket.recv(5))["job"]["status"])
    assert [s for i, s in enumerate(statuses) if s not in statuses[:i]] == \
        ["queued", "transcribing", "choosing", "painting", "done"]
    assert broker.depth(live) == 0  # no job message on a live routing key
    finished = job(display, job_id)
    assert finished["transcript"] == " ".join(f"line {s.sequence} about the harbour" for s in segments)
    assert len(finished["images"]) == 2 and finished["images"][0]["prompt"] == "a harbour at dawn"
    assert finished["error"] is None
    assert {tuple(lines) for lines in finished["image_lines"].values()} == {(1,)}  # each picture names its line
    starts = [line["start_seconds"] for line in finished["lines"]]
    assert starts == sorted(starts) and starts[1] > 2.0  # where each line sits in the file (two seconds apart)


def test_an_upload_names_its_language_and_each_line_keeps_what_was_heard(broker: Broker, display: DisplayProcess,
                                                                        speech_dir: Path) -> None:
    """The form's `language` goes on every segment (the transcriber hears in it); the prompter gets each line's
    heard language, kept in the job book in between. A language that is no code is a 400 and leaves no job."""
    refused = upload(display, two_utterances(speech_dir), language="Deutsch")
    assert refused.status_code == 400 and "language code" in refused.json()["error"]
    assert jobs_stored(display) == 0 and broker.depth(broker.topology.job_audio.name) == 0

    texts = broker.tap("job.text.#")
    accepted = upload(display, two_utterances(speech_dir), language="de-AT")
    assert accepted.status_code == 202, accepted.text
    segments = [AudioSegment.from_json(body) for _, body in broker.drain(broker.topology.job_audio.name)]
    assert len(segments) >= 2 and {s.language for s in segments} == {"de"}
    heard = ["de"] + ["fr"] * (len(segments) - 1)  # a mixed table: what each segment was heard in
    publish(broker, *(transcribe(s, f"Zeile {s.sequence}").model_copy(update={"language": language})
                      for s, language in zip(segments, heard, strict=True)))
    _, body = wait_for(lambda: broker.get(texts), timeout=5, message="the job's text for the prompter")
    assert [line.language for line in JobText.from_json(body).lines] == heard


def transcribed_upload(broker: Broker, display: DisplayProcess, speech_dir: Path, name: str,
                       about: str) -> tuple[str, list[AudioSegment]]:
    """An upload named `name` whose every segment was heard as "line N `about`", now waiting for its prompt."""
    job_id = upload(display, two_utterances(speech_dir), name=name).json()["job_id"]
    segments = [AudioSegment.from_json(body) for _, body in broker.drain(broker.topology.job_audio.name)]
    publish(broker, *(transcribe(s, f"line {s.sequence} {about}".strip()) for s in segments))
    wait_for(lambda: job(display, job_id)["status"] == "choosing", timeout=5, message="all lines in")
    return job_id, segments


def test_a_finished_job_transcript_downloads_as_text_webvtt_and_srt(broker: Broker, display: DisplayProcess,
                                                                     speech_dir: Path) -> None:
    job_id, segments = transcribed_upload(broker, display, speech_dir, "harbour talk.wav", "about the harbour")
    base = f"{display.url}/api/uploads/{job_id}/transcript"
    text = requests.get(f"{base}.txt", timeout=5)
    assert text.status_code == 200 and text.text.splitlines() == [f"line {s.sequence} about the harbour"
                                                                  for s in segments]
    assert 'filename="harbour talk.txt"' in text.headers["content-disposition"]
    vtt = requests.get(f"{base}.vtt", timeout=5)
    assert vtt.headers["content-type"].startswith("text/vtt") and vtt.text.startswith("WEBVTT")
    assert vtt.text.count(" --> ") == len(segments) and "line 1 about the harbour" in vtt.text
    srt = requests.get(f"{base}.srt", timeout=5).text
    assert srt.startswith("1\n00:00:00,") and srt.count(" --> ") == len(segments), srt  # SRT's comma decimals
    assert requests.get(f"{base}.pdf", timeout=5).status_code == 404


def test_captions_split_a_line_by_its_words_placed_where_its_piece_lies_in_the_file(
        broker: Broker, display: DisplayProcess, speech_dir: Path) -> None:
    """A transcriber times a piece's words from its own part; the job's captions put them on the file's timeline,
    a cue per sentence (a piece holds up to 30 s of talk: one cue of it would stay up that long)."""
    job_id = upload(display, two_utterances(speech_dir)).json()["job_id"]
    segments = [AudioSegment.from_json(body) for _, body in broker.drain(broker.topology.job_audio.name)]
    words = (Word(text="Boats", start_seconds=0.5, end_seconds=0.9, confidence=0.9),
             Word(text="sail.", start_seconds=1.0, end_seconds=1.4, confidence=0.9),
             Word(text="Gulls", start_seconds=2.0, end_seconds=2.4, confidence=0.9),
             Word(text="cry.", start_seconds=2.5, end_seconds=2.9, confidence=0.9))
    said = [transcribe(s, "Boats sail. Gulls cry.").model_copy(update={"words": words}) for s in segments]
    publish(broker, *said)
    wait_for(lambda: job(display, job_id)["status"] == "choosing", timeout=5, message="all lines in")
    starts = [line["start_seconds"] for line in job(display, job_id)["lines"]]
    assert "words" not in job(display, job_id)["lines"][0]  # the API's lines stay as they were
    cues = requests.get(f"{display.url}/api/uploads/{job_id}/transcript.srt", timeout=5).text.split("\n\n")
    cues = [c for c in cues if c.strip()]
    assert [c.splitlines()[2] for c in cues] == ["Boats sail.", "Gulls cry."] * len(segments)
    firsts = [c.splitlines()[1].split(" --> ")[0] for c in cues[::2]]
    assert firsts == [_srt_time(start + 0.5) for start in starts]


def _srt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    return f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d},{millis % 1000:03d}"


def test_a_transcript_named_in_any_script_downloads_under_that_name(broker: Broker, display: DisplayProcess,
                                                                    speech_dir: Path) -> None:
    """HTTP headers are Latin-1: an upload named in Japanese made every transcript download a 500."""
    job_id, _ = transcribed_upload(broker, display, speech_dir, "港の会議 ü.wav", "")
    for fmt in ("txt", "vtt", "srt"):
        answer = requests.get(f"{display.url}/api/uploads/{job_id}/transcript.{fmt}", timeout=5)
        assert answer.status_code == 200 and "line 1" in answer.text, (fmt, answer.status_code, answer.text[:200])
        disposition = answer.headers["content-disposition"]
        assert f'filename="____ _.{fmt}"' in disposition, disposition  # an ASCII stand-in for any client
        assert urllib.parse.unquote(disposition.split("filename*=UTF-8''")[1]) == f"港の会議 ü.{fmt}", disposition


def test_an_upload_where_nothing_was_recognised_ends_in_error(broker: Broker, display: DisplayProcess,
                                                               speech_dir: Path) -> None:
    texts = broker.tap("job.text.#")
    job_id = upload(display, two_utterances(speech_dir)).json()["job_id"]
    segments = [AudioSegment.from_json(body) for _, body in broker.drain(broker.topology.job_audio.name)]
    publish(broker, *(transcribe(s, "") for s in segments))
    failed = wait_for(lambda: (j := job(display, job_id))["status"] == "error" and j, timeout=5, message="error")
    assert failed["error"] == "no speech was recognised in the upload"
    assert broker.depth(texts) == 0  # nothing to paint, so the prompter is not asked


def test_an_upload_with_nothing_picturable_ends_done_with_its_transcript(broker: Broker, display: DisplayProcess,
                                                                        speech_dir: Path) -> None:
    """The prompter's answer that nothing can be drawn ends the job `done`, with its words and the note, at once
    (it waited in `choosing` until the stall timer made it an error)."""
    texts = broker.tap("job.text.#")
    job_id = upload(display, two_utterances(speech_dir)).json()["job_id"]
    segments = [AudioSegment.from_json(body) for _, body in broker.drain(broker.topology.job_audio.name)]
    publish(broker, *(transcribe(s, "he might even have been made amiable himself") for s in segments))
    _, body = wait_for(lambda: broker.get(texts), timeout=5, message="the job's text for the prompter")
    text = JobText.from_json(body)
    with connect(f"ws://127.0.0.1:{display.port}/ws/jobs/{job_id}", open_timeout=5) as socket:
        assert json.loads(socket.recv(5))["job"]["status"] == "choosing"
        unpainted = text.derive(JobUnpainted, key="unpainted", job_id=job_id, reason="nothing_usable")
        assert unpainted.routing_key.startswith("job.unpainted.")
        publish(broker, unpainted)
        shown = json.loads(socket.recv(5))["job"]
        while shown["status"] == "choosing":  # the step it was in may be shown again before the next
            shown = json.loads(socket.recv(5))["job"]
    assert (shown["status"], shown["note"], shown["error"], shown["images"]) == ("done", NOTHING_TO_PAINT, None, [])
    finished = job(display, job_id)
    assert finished["transcript"] == " ".join("he might even have been made amiable himself" for _ in segments)
    assert finished["note"] == NOTHING_TO_PAINT


def test_an_upload_that_would_overfill_the_job_queue_is_refused_whole(broker: Broker, display_factory,
                                                                       speech_dir: Path) -> None:
    """Accepted whole or refused with 503 and Retry-After: never half-sent, never cut by a drop policy."""
    broker.channel.queue_delete(broker.topology.job_audio.name)  # declared again by the display, with its limit
    display = display_factory(VOXFRAME_JOB_AUDIO_QUEUE_MAX="3")
    first = upload(display, two_utterances(speech_dir))
    assert first.status_code == 202, first.text
    waiting = first.json()["segments"]
    refused = upload(display, two_utterances(speech_dir))
    assert refused.status_code == 503 and "try again later" in refused.json()["error"], refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert jobs_stored(display) == 1 and broker.depth(broker.topology.job_audio.name) == waiting
    segments = [AudioSegment.from_json(body) for _, body in broker.drain(broker.topology.job_audio.name)]
    publish(broker, *(transcribe(s, "the harbour") for s in segments))  # the first is transcribed: room again
    wait_for(lambda: job(display, first.json()["job_id"])["status"] == "choosing", timeout=5, message="first done")
    assert upload(display, two_utterances(speech_dir)).status_code == 202


def test_a_stalled_job_becomes_an_error_saying_where_it_stopped(broker: Broker, display_factory,
                                                                speech_dir: Path) -> None:
    display = display_factory(VOXFRAME_JOB_STALL_SECONDS="1")
    job_id = upload(display, two_utterances(speech_dir)).json()["job_id"]
    failed = wait_for(lambda: (j := job(display, job_id))["status"] == "error" and j, timeout=10, message="stall")
    assert "no transcriber picked up the audio" in failed["error"]


def test_an_upload_waiting_behind_a_longer_one_is_not_a_stall(broker: Broker, display_factory,
                                                              speech_dir: Path) -> None:
    """The job queue is served in order: a job whose audio waits behind a moving upload is waiting, not stalled."""
    display = display_factory(VOXFRAME_JOB_STALL_SECONDS="2")
    one = two_utterances(speech_dir)
    samples, rate = soundfile.read(io.BytesIO(one), dtype="int16")
    longer = io.BytesIO()
    soundfile.write(longer, np.concatenate([samples, np.zeros(2 * rate, dtype=np.int16)] * 8), rate, format="WAV")
    ahead_id = upload(display, longer.getvalue()).json()["job_id"]
    ahead = [AudioSegment.from_json(body) for _, body in broker.drain(broker.topology.job_audio.name)]
    behind_id = upload(display, one).json()["job_id"]
    behind = [AudioSegment.from_json(body) for _, body in broker.drain(broker.topology.job_audio.name)]
    assert len(ahead) >= 8
    waited = time.monotonic()
    for segment in ahead:  # transcribed one at a time, for longer than the stall time all told
        publish(broker, transcribe(segment, f"line {segment.sequence} about the harbour"))
        wait_for(lambda s=segment: job(display, ahead_id)["transcribed"] == s.sequence + 1, timeout=5,
                 message="the line in")
        stays(lambda: job(display, behind_id)["status"] == "queued", 0.5, message="the job behind waiting")
    assert time.monotonic() - waited > 2 * 2
    publish(broker, *(transcribe(s, "the harbour") for s in behind))
    chosen = wait_for(lambda: (j := job(display, behind_id))["status"] != "queued" and j, timeout=5, message="moved")
    assert chosen["status"] in ("transcribing", "choosing") and chosen["error"] is None, chosen
    # with nothing ahead of it moving, a job that gets no transcripts is a stall all the same
    stalled = upload(display, one).json()["job_id"]
    failed = wait_for(lambda: (j := job(display, stalled))["status"] == "error" and j, timeout=10, message="stall")
    assert "no transcriber picked up the audio" in failed["error"]


def test_files_that_are_not_audio_are_refused_and_leave_nothing(broker: Broker, display: DisplayProcess) -> None:
    refused = upload(display, b"%PDF-1.7 definitely a document", name="speech.wav")
    assert refused.status_code == 415 and "not audio" in refused.json()["error"]
    assert jobs_stored(display) == 0 and broker.depth(broker.topology.job_audio.name) == 0


def test_silent_audio_is_refused_and_leaves_nothing(broker: Broker, display: DisplayProcess) -> None:
    out = io.BytesIO()
    soundfile.write(out, np.zeros(16000 * 2, dtype=np.int16), 16000, format="WAV")
    refused = upload(display, out.getvalue())
    assert refused.status_code == 422 and "no speech" in refused.json()["error"]
    assert jobs_stored(display) == 0 and broker.depth(broker.topology.job_audio.name) == 0


def test_oversized_uploads_are_refused_while_reading(broker: Broker, display_factory, speech_dir: Path) -> None:
    display = display_factory(VOXFRAME_UPLOAD_MAX_MB="0.01")
    refused = upload(display, two_utterances(speech_dir))
    assert refused.status_code == 413
    assert refused.json()["error"] == "the upload is larger than the 10 KB limit"
    assert jobs_stored(display) == 0 and broker.depth(broker.topology.job_audio.name) == 0


def test_uploads_need_the_audio_field(display: DisplayProcess) -> None:
    wrong = requests.post(f"{display.url}/api/uploads", files={"file": ("a.wav", b"RIFF")}, timeout=5)
    assert wrong.status_code == 400 and "'audio'" in wrong.json()["error"]


def test_a_job_page_for_no_job_answers_as_the_api_does(display_factory, speech_dir: Path) -> None:
    """`/jobs/<anything>` served the job page (200), whose script then waited on a job that is not there, while
    the API said 404. Now the page answers what the API answers: 400 with the id rule for an id no job can have
    (before a token is asked for: the address is wrong whoever asks), 404 for a well-formed id that is no job."""
    token = "correct-horse-battery"
    rule, missing = "upload job ids are 32 hex digits", "no such upload job"
    for display, auth in ((display_factory(), {}),
                          (display_factory(VOXFRAME_DISPLAY_TOKEN=token), {"Authorization": f"Bearer {token}"})):
        for job_id, status, says in (("nope", 400, rule), ("%F0%9F%98%80", 400, rule), ("a" * 5000, 400, rule),
                                     ("0" * 31, 400, rule), ("A" * 32, 400, rule), ("0" * 32, 404, missing)):
            page = requests.get(f"{display.url}/jobs/{job_id}", headers=auth, timeout=5, allow_redirects=False)
            answer = requests.get(f"{display.url}/api/uploads/{job_id}", headers=auth, timeout=5)
            assert (job_id[:40], page.status_code) == (job_id[:40], status)  # was 200: the page, for any id
            assert page.json() == {"error": says}
            assert (answer.status_code, answer.json()) == (status, {"error": says})
        assert requests.get(f"{display.url}/jobs/nope", timeout=5).json() == {"error": rule}  # no token asked
        accepted = requests.post(f"{display.url}/api/uploads", headers=auth, timeout=30, files={
            "audio": ("talk.wav", (speech_dir / "pocketsphinx_goforward.wav").read_bytes())})
        assert accepted.status_code == 202, accepted.text
        page = requests.get(f"{display.url}{accepted.headers['location']}", headers=auth, timeout=5)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
