"""The prompter's windows and controls, driven by a hand-set clock so the timing is exact.

The bus is replaced by two recorders (publish and ack) that log into one list, so tests can check that a
window's transcripts are acknowledged only after its prompt was published. tests/prompter/test_service.py
runs the same handler on the real broker.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from itertools import accumulate

import pytest

from services.prompter.engines.lexical import LexicalSelector
from services.prompter.handler import MAX_ROOM_FAILURES, Prompter, RoomsFailed
from services.prompter.policy import Policy
from services.prompter.window import MAX_READ_CHARS
from shared.bus.errors import PublishRefused, Unprocessable
from shared.messages import (
    Command,
    Control,
    ImagePrompt,
    JobLine,
    JobText,
    JobUnpainted,
    SpokenAction,
    SpokenCommand,
    Transcript,
)
from shared.messages.envelope import SCHEMA_MAJOR, SCHEMA_VERSION
from shared.messages.spoken import MAX_HEARD_CHARS
from tests.topics import SCENES

DOG_TALK = ["We got a puppy, a golden retriever puppy!",
            "The golden retriever chewed the couch and my slippers.",
            "She loves the beach, she chases seagulls and digs in the sand."]


class Recorder:
    """Stands in for the bus: keeps what was published and which transcripts were acknowledged, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        self._current: Transcript | None = None

    def publish(self, message: object) -> None:
        self.events.append(("publish", message))

    def defer_ack(self) -> Callable[[], None]:
        transcript = self._current
        return lambda: self.events.append(("ack", transcript.id if transcript else None))

    @property
    def prompts(self) -> list[ImagePrompt]:
        return [m for kind, m in self.events if kind == "publish"]  # type: ignore[misc]

    @property
    def acked(self) -> list[object]:
        return [m for kind, m in self.events if kind == "ack"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def selector() -> LexicalSelector:
    return LexicalSelector()


@pytest.fixture
def bus() -> Recorder:
    return Recorder()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def prompter(selector: LexicalSelector, bus: Recorder, clock: Clock) -> Prompter:
    return Prompter(selector, bus.publish, bus.defer_ack,
                    Policy(window_seconds=30, num_images=2, scene_mode="slideshow"), clock)


def transcripts(lines: list[str], room: str = "lounge", job: str | None = None) -> list[Transcript]:
    return [Transcript(room=room, source="upload" if job else "mic1", job_id=job, audio_id=str(uuid.uuid4()),
                       text=text, engine="test", model="none", audio_seconds=2.0, processing_seconds=0.1,
                       sequence=i) for i, text in enumerate(lines)]


def feed(prompter: Prompter, bus: Recorder, said: list[Transcript]) -> list[Transcript]:
    for t in said:
        bus._current = t
        prompter.on_transcript(t)
    return said


def say(prompter: Prompter, bus: Recorder, lines: list[str], room: str = "lounge", job: str | None = None
        ) -> list[Transcript]:
    return feed(prompter, bus, transcripts(lines, room, job))


def control(prompter: Prompter, command: Command, value: object = None, room: str = "lounge",
            job: str | None = None) -> Control:
    c = Control(room=room, source="dashboard", command=command, value=value, job_id=job)
    prompter.on_control(c)
    return c


def test_window_closes_after_its_time_and_not_before(prompter: Prompter, bus: Recorder, clock: Clock) -> None:
    said = say(prompter, bus, DOG_TALK)
    clock.now += 29.9
    prompter.tick()
    assert bus.prompts == [] and bus.acked == []
    clock.now += 0.1
    prompter.tick()
    [prompt] = bus.prompts
    assert "golden retriever" in [k.text for k in prompt.keywords]
    assert prompt.text.startswith("a watercolor painting of ")
    assert (prompt.room, prompt.num_images, prompt.width, prompt.height) == ("lounge", 2, 1024, 576)
    assert prompt.trace_id == said[0].trace_id
    assert set(prompt.transcript_ids) <= {str(t.id) for t in said}
    assert "golden retriever" in prompt.excerpt.lower()
    # every transcript acknowledged, and only after the prompt was published
    assert bus.events[0][0] == "publish" and sorted(map(str, bus.acked)) == sorted(str(t.id) for t in said)


def test_window_opens_with_the_first_words_after_a_quiet_spell(prompter: Prompter, bus: Recorder,
                                                              clock: Clock) -> None:
    clock.now += 100
    prompter.tick()
    say(prompter, bus, DOG_TALK[:1])
    clock.now += 20
    say(prompter, bus, DOG_TALK[1:])
    clock.now += 9
    prompter.tick()
    assert bus.prompts == []
    clock.now += 1
    prompter.tick()
    assert len(bus.prompts) == 1


def test_set_window_changes_when_the_open_window_closes(prompter: Prompter, bus: Recorder, clock: Clock) -> None:
    say(prompter, bus, DOG_TALK)
    control(prompter, Command.SET_WINDOW, 10)
    clock.now += 10
    prompter.tick()
    assert len(bus.prompts) == 1


def test_quiet_window_publishes_nothing_but_releases_its_transcripts(prompter: Prompter, bus: Recorder,
                                                                    clock: Clock) -> None:
    said = say(prompter, bus, ["Um, yeah.", "Mm-hmm, okay, right."])
    clock.now += 30
    prompter.tick()
    assert bus.prompts == []
    assert len(bus.acked) == len(said)
    assert prompter.rooms["lounge"].window is None


def test_the_same_topic_again_is_skipped_then_allowed_later(prompter: Prompter, bus: Recorder,
                                                          clock: Clock) -> None:
    fixated = ["The golden retriever again, that golden retriever is everything, golden retriever."]
    say(prompter, bus, [*fixated, "Her golden retriever fur is all over the sofa."])
    clock.now += 30
    prompter.tick()
    assert bus.prompts[0].keywords[0].text == "golden retriever"
    say(prompter, bus, [*fixated, "My golden retriever, my golden retriever."])
    clock.now += 30
    prompter.tick()
    assert len(bus.prompts) == 1  # nothing new: only the topic painted a moment ago
    clock.now += 120
    say(prompter, bus, [*fixated, "My golden retriever, my golden retriever."])
    clock.now += 30
    prompter.tick()
    assert bus.prompts[1].keywords[0].text == "golden retriever"


def test_the_next_window_moves_on_to_new_topics(prompter: Prompter, bus: Recorder, clock: Clock) -> None:
    say(prompter, bus, DOG_TALK)
    clock.now += 30
    prompter.tick()
    say(prompter, bus, ["The golden retriever again!", "And then the pottery class, I made a clay vase."])
    clock.now += 30
    prompter.tick()
    first, second = bus.prompts
    assert "golden retriever" in [k.text for k in first.keywords]
    assert "golden retriever" not in [k.text for k in second.keywords]
    assert "vase" in [k.text for k in second.keywords]


def test_paint_now_forces_a_prompt_from_the_open_window(prompter: Prompter, bus: Recorder) -> None:
    say(prompter, bus, ["Look at that rainbow."])  # under min_words, but paint_now does not care
    control(prompter, Command.PAINT_NOW)
    [prompt] = bus.prompts
    assert [k.text for k in prompt.keywords] == ["rainbow"]
    assert prompter.rooms["lounge"].window is None


def test_style_images_and_regenerate(prompter: Prompter, bus: Recorder) -> None:
    say(prompter, bus, DOG_TALK)
    control(prompter, Command.PAINT_NOW)
    control(prompter, Command.SET_STYLE, "Oil-Painting")
    control(prompter, Command.SET_IMAGES, 3)
    again = control(prompter, Command.REGENERATE)
    first, second = bus.prompts
    assert second.keywords == first.keywords and second.transcript_ids == first.transcript_ids
    assert second.id != first.id and second.seed != first.seed
    assert second.text.startswith("an oil painting of") and second.style == "oil painting"
    assert second.num_images == 3
    prompter.on_control(again)  # the same control redelivered: the same prompt id, dropped downstream
    assert bus.prompts[2].id == second.id


def test_a_rooms_finish_goes_on_its_prompts_until_changed(prompter: Prompter, bus: Recorder) -> None:
    """The stateless generator learns from each prompt which inks to draw in: windows and repaints alike."""
    say(prompter, bus, DOG_TALK)
    control(prompter, Command.PAINT_NOW)
    control(prompter, Command.SET_FINISH, "acep7")
    control(prompter, Command.REGENERATE)
    control(prompter, Command.SET_FINISH, "screen")
    control(prompter, Command.REGENERATE)
    assert [p.finish for p in bus.prompts] == ["screen", "acep7", "screen"]


def test_a_room_chooses_a_living_scene_or_a_slideshow_and_paint_now_and_regenerate_work_in_both(
        prompter: Prompter, bus: Recorder) -> None:
    """A room setting (Control set_scene_mode), saved with the room: in a slideshow each prompt paints its own
    window with no scene; back to living, the room starts a scene afresh. (This fixture's rooms start as
    slideshows: the policy's default for new rooms.)"""
    control(prompter, Command.SET_SCENE_MODE, "living")
    say(prompter, bus, DOG_TALK)
    control(prompter, Command.PAINT_NOW)
    control(prompter, Command.SET_SCENE_MODE, "slideshow")
    say(prompter, bus, DOG_TALK[1:])
    control(prompter, Command.PAINT_NOW)
    control(prompter, Command.REGENERATE)
    control(prompter, Command.SET_SCENE_MODE, "living")
    say(prompter, bus, DOG_TALK[:1])
    control(prompter, Command.PAINT_NOW)
    control(prompter, Command.REGENERATE)
    living, slideshow, repainted, fresh, fresh_again = bus.prompts
    assert living.scene is not None and living.scene.window == 1
    assert slideshow.scene is None and repainted.scene is None and repainted.keywords == slideshow.keywords
    assert fresh.scene is not None and fresh.scene.window == 1  # not the old scene's window 2
    assert fresh_again.scene == fresh.scene and fresh_again.id != fresh.id
    assert prompter.rooms["lounge"].mode == "living"


@pytest.mark.parametrize(("command", "value", "match"), [
    (Command.SET_STYLE, "cubism", "unknown style"),
    (Command.SET_IMAGES, 9, "from 1 to 8"),
    (Command.SET_WINDOW, "soon", "from 5 to 600"),
    (Command.SET_WINDOW, 1, "from 5 to 600"),
    (Command.SET_WAKE_PHRASE, "hey frame 2000!", "wake phrase"),
    (Command.SET_WAKE_PHRASE, "one two three four five", "wake phrase"),
    (Command.SET_LANGUAGE, "Deutsch", "language code"),
    (Command.SET_FINISH, "spectra7", "unknown finish"),
    (Command.SET_SCENE_MODE, "film", "unknown scene mode"),
])
def test_bad_control_values_raise_clear_errors(prompter: Prompter, command: Command, value: object,
                                               match: str) -> None:
    """Unprocessable, so the bus dead-letters it at once instead of retrying on the only work thread."""
    with pytest.raises(Unprocessable, match=match):
        control(prompter, command, value)


def test_rooms_nobody_speaks_in_are_forgotten(prompter: Prompter, bus: Recorder, clock: Clock) -> None:
    """A room name sent once (a typo, a hostile client) leaves no permanent state; a room with an open window
    is kept however long it is quiet, since it holds unacknowledged transcripts."""
    control(prompter, Command.SET_STYLE, "photo", room="typo-room")
    say(prompter, bus, DOG_TALK[:1], room="busy")
    prompter.policy = Policy(window_seconds=30, room_idle_seconds=600)
    clock.now += 10
    prompter.tick()
    assert set(prompter.rooms) == {"typo-room", "busy"}
    prompter.rooms["busy"].window_seconds = 10_000  # keep its window open past the idle time
    clock.now += 601
    prompter.tick()
    assert set(prompter.rooms) == {"busy"}


def test_room_count_is_bounded(selector: LexicalSelector, bus: Recorder, clock: Clock) -> None:
    """Past max_rooms, the longest-idle room without an open window makes space."""
    prompter = Prompter(selector, bus.publish, bus.defer_ack, Policy(max_rooms=3), clock)
    for i in range(10):
        clock.now += 1
        control(prompter, Command.SET_IMAGES, 2, room=f"room-{i}")
    assert set(prompter.rooms) == {"room-7", "room-8", "room-9"}


def test_a_repaint_keeps_the_prompt_and_takes_a_fresh_envelope(prompter: Prompter, bus: Recorder) -> None:
    """The last prompt may come from a replica's saved state written by a newer build: its repaint says this
    build's schema version, with the last prompt's words, and a new id and time of its own."""
    say(prompter, bus, DOG_TALK)
    control(prompter, Command.PAINT_NOW)
    first = bus.prompts[0]
    prompter.rooms[first.room].last_prompt = first.model_copy(update={"schema_version": f"{SCHEMA_MAJOR}.9"})
    control(prompter, Command.REGENERATE)
    again = bus.prompts[1]
    assert again.schema_version == SCHEMA_VERSION
    assert again.payload() == {**first.payload(), "seed": again.seed} and again.seed != first.seed
    assert (again.room, again.source, again.trace_id, again.job_id) == (first.room, first.source, first.trace_id,
                                                                       first.job_id)


def test_regenerate_before_any_prompt_publishes_nothing(prompter: Prompter, bus: Recorder) -> None:
    control(prompter, Command.REGENERATE)
    assert bus.events == []


def job_text(lines: list[str], job: str, room: str = "lounge") -> JobText:
    """An upload's whole transcript, as the job owner sends it once every segment is in."""
    return JobText(room=room, source="upload", job_id=job,
                   lines=tuple(JobLine(transcript_id=str(t.id), text=t.text) for t in transcripts(lines, room)))


def test_an_upload_job_is_painted_at_once_and_holds_nothing(prompter: Prompter, bus: Recorder, clock: Clock) -> None:
    """A job's text is one message: its prompt comes straight back (the bus publishes it, then acks), nothing
    is deferred, and the room's own window goes on as before."""
    room_said = say(prompter, bus, DOG_TALK)
    text = job_text(["", "A volcano erupting at night.", "Lava everywhere."], job="job-7")
    job_prompt = prompter.on_job_text(text)
    assert isinstance(job_prompt, ImagePrompt) and job_prompt.job_id == "job-7" and job_prompt.source == "upload"
    assert {"volcano", "lava"} <= {k.text.lower() for k in job_prompt.keywords}
    assert set(job_prompt.transcript_ids) <= {line.transcript_id for line in text.lines}
    assert job_prompt.routing_key.startswith("job.prompt.")
    assert bus.prompts == [] and bus.acked == []  # the room's window still open, its transcripts still held
    clock.now += 30
    prompter.tick()
    [room_prompt] = bus.prompts
    assert "volcano" not in room_prompt.text and room_prompt.job_id is None
    assert set(map(str, bus.acked)) == {str(t.id) for t in room_said}


def test_a_living_rooms_upload_gets_a_sequence_of_scenes_that_follows_the_recording(prompter: Prompter) -> None:
    """About a minute of talk per picture (at most six): the camping part's scene first, then the birthday's,
    each moved on from the one before; in a slideshow room an upload is one picture of it all."""
    camping = ["We went camping by the lake and pitched the tent near the water's edge that evening."] * 6
    birthday = ["Then grandma's birthday party had a huge chocolate cake with candles and balloons."] * 6
    text = job_text(camping + birthday, job="job-film")
    assert isinstance(still := prompter.on_job_text(text), ImagePrompt) and still.sequence == ()  # slideshow
    control(prompter, Command.SET_SCENE_MODE, "living")
    prompt = prompter.on_job_text(text)
    assert isinstance(prompt, ImagePrompt) and prompt.num_images == len(prompt.sequence) == 3
    kept = [{e.keyword for e in scene.elements if not e.fading} for scene in prompt.sequence]
    assert "tent" in kept[0] and not any("cake" in k or "balloon" in k for k in kept[0])
    assert "balloons" in kept[-1] and any("cake" in k for k in kept[-1]) and "tent" not in kept[-1]
    assert [scene.window for scene in prompt.sequence] == [1, 2, 3]
    assert prompter.rooms["lounge"].scene is None  # the room's own scene is not the upload's


def test_a_long_upload_costs_the_work_thread_about_what_a_full_window_does(prompter: Prompter) -> None:
    """A 2,000-line upload (~154,000 characters, half an hour of talk) was read whole, once for its picture and
    again for its scenes: 8.2 s on the work thread every live room's window waits on. It is read as a sample spread
    over it, MAX_READ_CHARS as a full live window is, so it costs a few such windows, and still paints six scenes
    from across the recording."""
    scenes = json.loads(SCENES.read_text())
    talk = [turn[3] for split in scenes.values() if isinstance(split, list)
            for conversation in split for window in conversation["windows"] for turn in window["turns"]]
    rng = random.Random(5)
    upload = [line if len(line := rng.choice(talk)) > 60 else f"{line} {rng.choice(talk)}" for _ in range(2000)]
    window = [line for line, read in zip(upload, accumulate(map(len, upload)), strict=True) if read <= MAX_READ_CHARS]
    prompter.selector.select(talk)  # every sentence now in the tagger's cache, for the window and the upload alike
    control(prompter, Command.SET_SCENE_MODE, "living")
    started = time.thread_time()
    prompter.selector.select(window)
    full_window = time.thread_time() - started
    text = job_text(upload, job="job-long")
    started = time.thread_time()
    prompt = prompter.on_job_text(text)
    spent = time.thread_time() - started
    assert spent < 5 * full_window, f"the upload took {spent:.2f} s of the thread, a full window {full_window:.2f} s"
    assert isinstance(prompt, ImagePrompt) and len(prompt.keywords) == 4 and len(prompt.sequence) == 6
    assert set(prompt.transcript_ids) <= {line.transcript_id for line in text.lines}


def test_a_redelivered_job_text_yields_the_same_prompt(prompter: Prompter) -> None:
    text = job_text(DOG_TALK, job="job-11")
    first, again = prompter.on_job_text(text), prompter.on_job_text(text)
    assert isinstance(first, ImagePrompt) and isinstance(again, ImagePrompt)
    assert first.id == again.id and first.seed == again.seed


def test_job_topics_are_not_held_back_by_the_room_memory(prompter: Prompter, bus: Recorder) -> None:
    say(prompter, bus, DOG_TALK)
    control(prompter, Command.PAINT_NOW)
    job_prompt = prompter.on_job_text(job_text(DOG_TALK, job="job-8"))
    assert isinstance(job_prompt, ImagePrompt) and job_prompt.keywords[0].text == bus.prompts[0].keywords[0].text


@pytest.mark.parametrize("lines", [["", "Um, yeah, okay."], ["he was not an ill disposed young man",
                                                           "he might even have been made amiable himself"]])
def test_a_job_with_nothing_picturable_is_answered_so_the_job_can_end(prompter: Prompter, bus: Recorder,
                                                                      lines: list[str]) -> None:
    """No prompt, but an answer on the job's own key: without it the job waited in `choosing` until it stalled."""
    text = job_text(lines, job="job-9")
    answer = prompter.on_job_text(text)
    assert isinstance(answer, JobUnpainted) and answer.job_id == "job-9" and answer.reason
    assert answer.routing_key.startswith("job.unpainted.") and answer.id == prompter.on_job_text(text).id
    assert bus.events == []


def test_a_redelivered_window_yields_the_same_prompt(selector: LexicalSelector, clock: Clock) -> None:
    said = transcripts(DOG_TALK)
    runs = []
    for _ in range(2):  # the first replica dies after publishing; the next gets the same transcripts again
        bus = Recorder()
        prompter = Prompter(selector, bus.publish, bus.defer_ack, Policy(), clock)
        feed(prompter, bus, said)
        control(prompter, Command.PAINT_NOW)
        runs.append(bus.prompts[0])
    assert runs[0].id == runs[1].id and runs[0].seed == runs[1].seed and runs[0].text == runs[1].text


@pytest.mark.parametrize("argv", [["--images", "12"], ["--style", "cubism"], ["--max-chars", "50"]])
def test_the_command_refuses_bad_settings_before_connecting(argv: list[str], capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    from shared.cli import main

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        assert main(["prompter", *argv]) == 2
    finally:  # main() points the root logger at this test's captured stderr; later tests must not write there
        root.handlers[:], root.level = handlers, level
    assert "voxframe prompter: error" in capsys.readouterr().err


# ---- spoken controls -----------------------------------------------------------------------------------

def _spoken(bus: Recorder) -> list[SpokenCommand]:
    return [m for m in bus.prompts if isinstance(m, SpokenCommand)]


def test_a_spoken_paint_is_painted_at_once_and_is_not_conversation(prompter: Prompter, bus: Recorder,
                                                                   clock: Clock) -> None:
    prompter.on_control(Control(room="lounge", source="dashboard", command=Command.SET_WINDOW, value=120))
    talk = say(prompter, bus, DOG_TALK[:2])
    command = say(prompter, bus, ["Hey frame, paint a red dragon flying over a castle."])[0]
    prompt = next(m for m in bus.prompts if isinstance(m, ImagePrompt))
    assert "dragon" in prompt.text and any("dragon" in k.text for k in prompt.keywords)
    assert prompt.transcript_ids == (str(command.id),) and prompt.style == "watercolor"
    assert ("ack", command.id) not in bus.events  # acked by the bus on return, never held in a window
    notice = _spoken(bus)[0]
    assert notice.action is SpokenAction.PAINT and notice.transcript_id == str(command.id)
    assert prompter.rooms["lounge"].window.transcripts == talk  # the command joined no window
    clock.now += 121
    prompter.tick()
    window_prompt = [m for m in bus.prompts if isinstance(m, ImagePrompt)][-1]
    words = {w for k in window_prompt.keywords for w in k.text.lower().split()}
    assert "retriever" in " ".join(words) and not words & {"hey", "frame", "dragon"}


def test_spoken_regenerate_mute_describe_and_nonsense(prompter: Prompter, bus: Recorder, clock: Clock) -> None:
    say(prompter, bus, DOG_TALK)
    clock.now += 31
    prompter.tick()
    first = bus.prompts[-1]
    say(prompter, bus, ["Hey frame, another one.", "hey frame stop listening", "Hey frame, what is this?",
                        "Hey frame, sing the blues."])
    again = [m for m in bus.prompts if isinstance(m, ImagePrompt)][-1]
    assert again.id != first.id and again.keywords == first.keywords and again.seed != first.seed
    mute = next(m for m in bus.prompts if isinstance(m, Control))
    assert mute.command is Command.MUTE and mute.room == "lounge" and mute.mic is None
    assert [n.action for n in _spoken(bus)] == [SpokenAction.REGENERATE, SpokenAction.MUTE,
                                               SpokenAction.DESCRIBE, SpokenAction.UNRECOGNISED]
    assert prompter.rooms["lounge"].window is None  # none of them opened a window


def test_names_and_filtered_words_are_not_painted_from_a_spoken_subject(prompter: Prompter, bus: Recorder) -> None:
    say(prompter, bus, ["Hey frame, paint Daniel riding a horse on the beach."])
    prompt = next(m for m in bus.prompts if isinstance(m, ImagePrompt))
    assert "horse" in prompt.text and "daniel" not in prompt.text.lower()
    assert all("daniel" not in k.text.lower() for k in prompt.keywords)
    say(prompter, bus, ["Hey frame, paint john at gmail dot com."])
    assert _spoken(bus)[-1].action is SpokenAction.UNRECOGNISED  # nothing paintable was named
    assert "gmail" not in _spoken(bus)[-1].heard


def test_a_room_sets_its_wake_phrase(prompter: Prompter, bus: Recorder) -> None:
    control(prompter, Command.SET_WAKE_PHRASE, "Okay Picture")
    say(prompter, bus, ["Hey frame, paint a lighthouse.", "okay picture, paint a lighthouse"])
    assert len(_spoken(bus)) == 1 and prompter.rooms["lounge"].window.lines == ["Hey frame, paint a lighthouse."]
    control(prompter, Command.SET_WAKE_PHRASE, "")
    say(prompter, bus, ["okay picture, paint a lighthouse"])
    assert len(_spoken(bus)) == 1


def test_the_settings_make_the_policy_whose_defaults_they_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.prompter.__main__ import PrompterSettings

    assert PrompterSettings().policy() == Policy()  # one home for the defaults: nothing restated differently
    monkeypatch.setenv("VOXFRAME_PROMPT_IMAGES", "3")
    monkeypatch.setenv("VOXFRAME_PROMPT_WINDOW_SECONDS", "45")
    assert PrompterSettings().policy() == Policy(num_images=3, window_seconds=45.0)


# ---- a room's bad state ------------------------------------------------------------------------------------


def test_a_room_that_fails_in_tick_is_that_rooms_problem(prompter: Prompter, bus: Recorder, clock: Clock) -> None:
    """A room whose state went bad by a path no validation covers (here 0 images, which no ImagePrompt takes)
    fails alone: the other rooms are painted at every tick, the failing room's transcripts are acknowledged
    after MAX_ROOM_FAILURES tries rather than held for ever, and the room starts again from the defaults."""
    bad = say(prompter, bus, DOG_TALK, room="attic")  # first in the rooms' order: it used to stop the rest
    prompter.rooms["attic"].num_images = 0
    good = say(prompter, bus, DOG_TALK, room="den")
    clock.now += 30
    with pytest.raises(RoomsFailed, match="attic"):
        prompter.tick()
    assert [p.room for p in bus.prompts] == ["den"]
    assert sorted(map(str, bus.acked)) == sorted(str(t.id) for t in good)
    for _ in range(MAX_ROOM_FAILURES - 1):
        with pytest.raises(RoomsFailed):
            prompter.tick()
    assert sorted(map(str, bus.acked)) == sorted(str(t.id) for t in good + bad)
    assert prompter.rooms["attic"].num_images == 2 and prompter.rooms["attic"].window is None  # the defaults
    prompter.tick()  # nothing fails any more
    say(prompter, bus, DOG_TALK, room="attic")
    clock.now += 30
    prompter.tick()
    assert [p.room for p in bus.prompts] == ["den", "attic"]


def test_a_spoken_command_longer_than_a_notice_holds_is_clipped_not_lost(prompter: Prompter,
                                                                          bus: Recorder) -> None:
    long = "Hey frame, paint " + " ".join(["a lighthouse on a cliff above the stormy grey sea"] * 20) + "."
    say(prompter, bus, [long])
    [notice] = _spoken(bus)
    assert notice.action is SpokenAction.PAINT
    assert len(notice.heard) <= MAX_HEARD_CHARS and notice.heard.endswith("…")
    assert len(notice.subject) <= MAX_HEARD_CHARS
    assert "lighthouse" in bus.prompts[0].text  # type: ignore[attr-defined]


def test_a_broker_refusing_a_prompt_keeps_the_window_and_the_rooms_settings(selector: LexicalSelector,
                                                                            bus: Recorder, clock: Clock) -> None:
    """A nack is the broker's trouble, not the room's: the tick fails (and /healthz says so if it lasts), but the
    window is tried again at every tick, nothing is acked unpainted and the room keeps its style."""
    refusing = [True]

    def publish(message: object) -> None:
        if refusing[0]:
            raise PublishRefused("the broker nacked it")
        bus.publish(message)

    prompter = Prompter(selector, publish, bus.defer_ack, Policy(window_seconds=30), clock)
    control(prompter, Command.SET_STYLE, "pixel art")
    said = say(prompter, bus, DOG_TALK)
    clock.now += 30
    for _ in range(MAX_ROOM_FAILURES + 2):
        with pytest.raises(RoomsFailed, match="nacked"):
            prompter.tick()
    assert bus.acked == [] and prompter.rooms["lounge"].style == "pixel art"
    refusing[0] = False
    prompter.tick()
    assert [p.style for p in bus.prompts] == ["pixel art"]
    assert sorted(map(str, bus.acked)) == sorted(str(t.id) for t in said)


def test_a_german_window_paints_its_things_with_an_english_prompt(prompter: Prompter, bus: Recorder) -> None:
    """The keywords stay in the room's words (captions); the text for the diffusion and cloud backends is English."""
    said = transcripts(["Wir waren am Wochenende mit dem Hund am Strand.",
                        "Der Hund ist die ganze Zeit ins Wasser gelaufen, am Strand war es schön."])
    feed(prompter, bus, [t.model_copy(update={"language": "de"}) for t in said])
    control(prompter, Command.PAINT_NOW)
    [prompt] = bus.prompts
    assert prompt.language == "de"
    assert {"Hund", "Strand"} <= {k.text for k in prompt.keywords}
    assert "dog" in prompt.text and "beach" in prompt.text and "Hund" not in prompt.text
