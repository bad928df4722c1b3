"""Transcripts and controls in, image prompts out: a window per room, closed on a timer; an upload job's whole
text in, its prompt out at once.

Everything runs on the bus's single work thread (handlers and the timer alike), so the state needs no locks; only
the word tables of German, Spanish and French load on a thread of their own (WordTables, thread-safe), started as
soon as a language is heard of, so no handler waits for them (a window that needs a load still under way waits for
the rest of it).
A room's prompts are published here, not returned, because a window's transcripts must be acknowledged only
after the prompt made from them is confirmed. A job's text is one message that holds nothing back: its prompt
is returned, so nothing of a job ever waits unacknowledged here.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from services.prompter.engines import Choice, KeywordSelector, Selection
from services.prompter.engines.commands import ParsedCommand, parse
from services.prompter.engines.mood import MOODS_BY_NAME, mood_of
from services.prompter.engines.multilingual import MultilingualSelector
from services.prompter.engines.names import person_names
from services.prompter.engines.novelty import NoveltyMemory
from services.prompter.engines.safety import REMOVED, scrub
from services.prompter.engines.scene import compose
from services.prompter.memory import RoomStore, restore, snapshot
from services.prompter.metrics import (
    PROMPTS,
    ROOM_FAILURES,
    ROOMS,
    SELECTION_SECONDS,
    SPOKEN,
    WINDOWS_CLOSED,
    WINDOWS_SKIPPED,
    WORDS_FILTERED,
)
from services.prompter.policy import Policy
from services.prompter.scene import repaint_strength
from services.prompter.scene import update as update_scene
from services.prompter.window import Ack, Room, Window, spread, word_confidence
from shared.bus.errors import BusStopped, PublishRefused, Unprocessable
from shared.language.bridge import in_english
from shared.messages import (
    Command,
    Control,
    Envelope,
    GeneratedImage,
    ImagePrompt,
    JobLine,
    JobText,
    JobUnpainted,
    Keyword,
    SpokenAction,
    SpokenCommand,
    Transcript,
    derived_id,
)
from shared.messages.control import check_value, finish_name, scene_mode, style_name, wake_phrase
from shared.messages.language import DEFAULT_LANGUAGE, room_language
from shared.messages.prompt import MAX_KEYWORDS, MAX_SEQUENCE, MAX_SOURCE_TRANSCRIPTS, Evolve
from shared.messages.scene import Scene
from shared.messages.spoken import MAX_HEARD_CHARS

_LOGGER = logging.getLogger(__name__)

MAX_EXCERPT_CHARS = 600
MAX_ROOM_FAILURES = 3  # ticks in a row a room may fail before its window is given up and it starts afresh


WORDS_PER_SCENE = 60  # of an upload: about half a minute of talk, a live window's worth, per picture


class RoomsFailed(RuntimeError):
    """Rooms failed in this tick (each on its own; the others were served): the bus counts the tick as failed,
    and a tick that keeps failing shows on /healthz."""


class Prompter:
    def __init__(self, selector: KeywordSelector, publish: Callable[[Envelope], None],
                 defer_ack: Callable[[], Ack], policy: Policy | None = None,
                 clock: Callable[[], float] = time.monotonic, store: RoomStore | None = None,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.selector = MultilingualSelector(selector)  # each line read in its own language
        self.policy = policy or Policy()
        self._publish = publish
        self._defer_ack = defer_ack
        self._clock = clock
        self._store = store  # where a replica taking over finds each room's settings and memory
        self._wall_clock = wall_clock
        self._pruned_at = 0.0
        self.rooms: dict[str, Room] = {}

    def on_transcript(self, transcript: Transcript) -> None:
        self.selector.tables.start((transcript.language,))  # a new language's tables load while its window is open
        now = self._clock()
        room = self._room(transcript.room)
        command = parse(transcript.text, room.wake)
        if command is not None:  # a command is never conversation: it joins no window, and is acked now
            self._spoken(room, transcript, command)
            return
        window = room.window = room.window or Window(now)
        window.add(transcript, self._defer_ack(), now)

    def on_job_text(self, job: JobText) -> ImagePrompt | JobUnpainted:
        """An upload's whole transcript → its prompt in the room's style, or word that nothing in it can be drawn
        (the job then ends with its transcript and no picture). No novelty: the upload is painted for what it is
        about. Its keywords, and its scenes', are chosen from a sample spread over its lines (`spread`)."""
        read = spread([line.text for line in job.lines])
        selection = self._select_job([job.lines[i] for i in read])
        WINDOWS_CLOSED.labels("job").inc()
        reason = selection.skip_reason(min_words=1, forced=True)
        if reason is not None:
            WINDOWS_SKIPPED.labels("job_no_words").inc()
            _LOGGER.info("upload job %s: nothing picturable (%s)", job.job_id, reason)
            return job.derive(JobUnpainted, key="unpainted", job_id=job.job_id, reason=reason)
        PROMPTS.labels("job").inc()
        ids = [job.lines[i].transcript_id for i in read]
        room = self._room(job.room)
        prompt = self._prompt(job, ids, selection, room, key="job")
        sequence = self._job_scenes(job, read) if room.mode == "living" else []
        if len(sequence) < 2:
            return prompt
        return prompt.model_copy(update={"sequence": tuple(sequence), "num_images": len(sequence)})

    def _job_scenes(self, job: JobText, read: list[int]) -> list[Scene]:
        """An upload's living scenes in the order of its recording: its lines cut into parts of about
        `WORDS_PER_SCENE` words (at most MAX_SEQUENCE), the scene moved on by each part that has something to draw.
        Each part reads its lines of the sample `read` (indices into the job's lines), so the scenes together read
        no more than the picture did. Its own scene, not the room's: an upload is painted for what it is about."""
        words = [len(line.text.split()) for line in job.lines]
        parts = max(1, min(MAX_SEQUENCE, round(sum(words) / WORDS_PER_SCENE)))
        scenes: list[Scene] = []
        scene: Scene | None = None
        for part in range(parts):
            start, end = part * len(job.lines) // parts, (part + 1) * len(job.lines) // parts
            lines = [job.lines[i] for i in read if start <= i < end]
            if lines and (selection := self._select_job(lines)).chosen():
                scene = _advance(scene, selection, job.room)
                scenes.append(scene)
        return scenes

    def _select_job(self, lines: list[JobLine]) -> Selection:
        return self._select([line.text for line in lines], [word_confidence(line) for line in lines], None,
                            [line.language for line in lines])

    def on_control(self, control: Control) -> None:
        try:
            self._apply(control)
        except ValueError as exc:  # a bad value: no retry can help, so it is dead-lettered at once
            raise Unprocessable(str(exc)) from exc
        self._save(control.room)
        _LOGGER.info("%s for room %s (%s)", control.command, control.room, control.value)

    def _apply(self, control: Control) -> None:
        room = self._room(control.room)
        match control.command:
            case Command.SET_WINDOW:
                check_value(control.command, control.value)
                room.window_seconds = float(control.value)  # type: ignore[arg-type]
            case Command.SET_STYLE:
                room.style = style_name(control.value)
            case Command.SET_IMAGES:
                check_value(control.command, control.value)
                room.num_images = int(float(control.value))  # type: ignore[arg-type]
            case Command.PAINT_NOW:
                self._close_room(room, "paint_now")
            case Command.REGENERATE:
                self._regenerate(room, key=f"regenerate:{control.id}")
            case Command.SET_WAKE_PHRASE:
                room.wake = tuple(wake_phrase(control.value).split())
            case Command.SET_LANGUAGE:  # the room's mics act on it; a bad value is dead-lettered here, once
                # Its word tables load now, not on the room's first window (`auto`: each language on its first line)
                self.selector.tables.start((room_language(control.value),))
            case Command.SET_FINISH:
                room.finish = finish_name(control.value)
            case Command.SET_SCENE_MODE:
                mode = scene_mode(control.value)
                if mode != room.mode:  # back to living, the room starts a scene afresh from what is said next
                    room.mode, room.scene = mode, None

    def tick(self) -> None:
        """Close every window whose time is up. A room that fails is that room's problem: the others are served
        all the same, and RoomsFailed is raised once they were."""
        now = self._clock()
        failed: list[str] = []
        for name, room in list(self.rooms.items()):
            try:
                if room.window_due(now):
                    self._close_room(room, "timer")
                room.novelty.forget_faded(now)
                room.failures = 0
            except BusStopped:
                raise
            except PublishRefused as exc:  # the broker's trouble, not the room's: its window is tried next tick
                failed.append(f"{name}: {exc}")
            except Exception as exc:  # noqa: BLE001 (any failure: isolated to the room, logged and counted)
                failed.append(f"{name}: {type(exc).__name__}: {exc}")
                self._room_failed(name, room, exc)
        self._forget_idle_rooms(now)
        if failed:
            raise RoomsFailed(f"{len(failed)} room(s) failed: {'; '.join(failed)}"[:1000])

    def _room_failed(self, name: str, room: Room, exc: Exception) -> None:
        """Count and log a room's failure; after MAX_ROOM_FAILURES in a row, give up its window (its transcripts
        are acknowledged, or they would be held forever and fill the prefetch) and start it from the defaults."""
        room.failures += 1
        ROOM_FAILURES.inc()
        _LOGGER.error("room %r failed to close its window (%d/%d)", name, room.failures, MAX_ROOM_FAILURES,
                      exc_info=exc)
        if room.failures < MAX_ROOM_FAILURES:
            return
        if room.window is not None:
            _LOGGER.error("room %r: giving up a window of %d transcripts (%s); acknowledged without a picture",
                          name, len(room.window.transcripts), ", ".join(str(t.id) for t in room.window.transcripts))
            WINDOWS_SKIPPED.labels("room_failed").inc()
            room.window.release()
        self.rooms[name] = self._new_room()
        self.rooms[name].touched_at = room.touched_at
        try:
            self._save(name)  # the defaults replace what failed, here and for a replica taking over
        except Exception as save_error:  # noqa: BLE001 (the database may be what failed: logged)
            _LOGGER.warning("room %r: could not save its defaults: %s", name, save_error)

    # ---- closing windows ---------------------------------------------------------------------------------

    def _close_room(self, room: Room, trigger: str) -> None:
        window, forced = room.window, trigger != "timer"
        if window is None:
            WINDOWS_SKIPPED.labels("empty").inc()
            return
        now = self._clock()
        living = room.mode == "living"  # a living scene keeps what is still talked about: no novelty to hold it back
        novelty = None if living else lambda phrase: room.novelty.novelty(phrase, now)
        selection = self._select(window.lines, window.heard, novelty, window.languages)
        reason = selection.skip_reason(self.policy.min_words, forced)
        if reason is not None and forced:
            WINDOWS_SKIPPED.labels(reason).inc()  # keep the window: nothing to paint yet, keep listening
            return
        if reason is None:
            first, last = window.transcripts[0], window.transcripts[-1]
            scene = self._next_scene(room, first.room, selection) if living else None
            prompt = self._prompt(first, [str(t.id) for t in window.read], selection, room,
                                  key=f"window:{last.id}", origin_at=max(t.origin_at for t in window.transcripts),
                                  scene=scene, evolve=_evolution(room.last_prompt, scene))
            self._publish(prompt)
            PROMPTS.labels(trigger).inc()
            self._painted(room, prompt)
        else:
            WINDOWS_SKIPPED.labels(reason).inc()
            _LOGGER.info("window of %d transcripts skipped: %s", len(window.transcripts), reason)
        WINDOWS_CLOSED.labels(trigger).inc()
        window.release()
        room.window = None

    def _select(self, lines: list[str], heard: list[dict[str, float]] | None,
                novelty: Callable[[str], float] | None, languages: list[str] | None = None) -> Selection:
        started = time.perf_counter()
        selection = self.selector.select(lines, novelty, heard, languages)
        SELECTION_SECONDS.observe(time.perf_counter() - started)
        for reason, count in selection.removed.items():
            WORDS_FILTERED.labels(reason).inc(count)
        return selection

    @staticmethod
    def _next_scene(room: Room, name: str, selection: Selection) -> Scene:
        """The room's scene moved on by this window (kept on the room once its prompt is out)."""
        return _advance(room.scene, selection, name)

    def _prompt(self, cause: Envelope, line_ids: list[str], selection: Selection, room: Room, key: str,
                origin_at: datetime | None = None, scene: Scene | None = None,
                evolve: Evolve | None = None) -> ImagePrompt:
        """The prompt for a window or a job (`line_ids` name its lines); its id comes from `cause` and `key`, so
        a redelivered window or job yields the same id and downstream dedup drops the repeat. With a scene, the
        prompt paints the scene's elements (heaviest first), not only this window's keywords."""
        chosen = selection.chosen()
        source_lines = sorted({i for choice in chosen for i in choice.lines})
        excerpt = "\n".join(selection.clean_lines[i] for i in source_lines)
        language = Counter(c.language for c in chosen).most_common(1)[0][0] if chosen else DEFAULT_LANGUAGE
        if scene is None:
            keywords, mood = [Keyword(text=c.text, score=c.score) for c in chosen], selection.mood
        else:
            keywords = [Keyword(text=e.keyword, score=e.weight) for e in scene.ranked()]
            mood = MOODS_BY_NAME[scene.mood]
        return cause.derive(
            ImagePrompt, key=key, origin_at=origin_at or cause.origin_at,
            text=compose([in_english(k.text, language) for k in keywords], room.style, mood, self.policy.max_chars),
            keywords=tuple(keywords[:MAX_KEYWORDS]), scene=scene, language=language, evolve=evolve,
            style=room.style, mood=mood.name, finish=room.finish,
            transcript_ids=tuple(line_ids[i] for i in source_lines[:MAX_SOURCE_TRANSCRIPTS]),
            excerpt=excerpt[:MAX_EXCERPT_CHARS], num_images=room.num_images,
            width=self.policy.width, height=self.policy.height, seed=_seed(cause.id, key),
        )

    def _regenerate(self, room: Room, key: str) -> bool:
        """Repaint the room's last prompt with a new seed, in its current style; False if it painted nothing yet."""
        last = room.last_prompt
        if last is None:
            WINDOWS_SKIPPED.labels("nothing_to_regenerate").inc()
            _LOGGER.warning("regenerate for a room that has painted nothing yet")
            return False
        text = compose([in_english(k.text, last.language) for k in last.keywords], room.style,
                       MOODS_BY_NAME[last.mood], self.policy.max_chars)
        self._publish(last.derive(ImagePrompt, key=key, **{
            **last.payload(), "text": text, "style": room.style, "finish": room.finish,
            "num_images": room.num_images, "seed": _seed(last.id, key)}))
        PROMPTS.labels("regenerate").inc()
        return True

    # ---- spoken controls ---------------------------------------------------------------------------------

    def _spoken(self, room: Room, transcript: Transcript, command: ParsedCommand) -> None:
        """Act on a spoken command at once, then tell the frames and the dashboard what was understood."""
        action, subject = command.action, ""
        if action is SpokenAction.PAINT:
            subject = self._paint_spoken(room, transcript, command.subject)
            action = action if subject else SpokenAction.UNRECOGNISED  # nothing paintable was named
        elif action is SpokenAction.REGENERATE:
            self._regenerate(room, key=f"spoken:{transcript.id}")
        elif action is SpokenAction.MUTE:
            self._publish(transcript.derive(Control, key="spoken:mute", command=Command.MUTE))
        SPOKEN.labels(action).inc()
        _LOGGER.info("spoken command in room %s: %s %s", transcript.room, action, subject)
        heard = _clip(scrub(command.heard).text, MAX_HEARD_CHARS)
        self._publish(transcript.derive(SpokenCommand, key="spoken", transcript_id=str(transcript.id),
                                        action=action, subject=subject, heard=heard))

    def _paint_spoken(self, room: Room, transcript: Transcript, said: str) -> str:
        """Publish a prompt of what was named (scrubbed like any talk); the subject painted, or "" if none was."""
        selection = self._select([said], [word_confidence(transcript)], None, [transcript.language])
        if not selection.chosen():
            return ""
        subject = _clip(_without_names(selection.clean_lines[0], selection.chosen()), MAX_HEARD_CHARS)
        mood = mood_of([subject])
        key = "spoken:paint"
        prompt = transcript.derive(
            ImagePrompt, key=key, text=compose([subject], room.style, mood, self.policy.max_chars),
            keywords=tuple(Keyword(text=c.text, score=c.score) for c in selection.chosen()),
            style=room.style, mood=mood.name, finish=room.finish, transcript_ids=(str(transcript.id),), excerpt=subject,
            num_images=room.num_images, width=self.policy.width, height=self.policy.height,
            seed=_seed(transcript.id, key))
        self._publish(prompt)
        PROMPTS.labels("spoken").inc()
        self._painted(room, prompt)
        return subject

    def _painted(self, room: Room, prompt: ImagePrompt) -> None:
        """A room's prompt is out: remember it (novelty, regenerate), here and for a replica taking over."""
        room.last_prompt = prompt
        room.scene = prompt.scene or room.scene
        room.novelty.remember((k.text for k in prompt.keywords), self._clock())
        self._save(prompt.room)

    def _save(self, name: str) -> None:
        room = self.rooms.get(name)
        if self._store is not None and room is not None:
            wall_now = self._wall_clock()
            self._store.save(name, snapshot(room, self._clock(), wall_now), wall_now)

    def _room(self, name: str) -> Room:
        now = self._clock()
        if name not in self.rooms:
            if len(self.rooms) >= self.policy.max_rooms:
                self._forget_idle_rooms(now, keep=self.policy.max_rooms - 1)
            self.rooms[name] = self._new_room()
            state = self._store.load(name) if self._store is not None else None
            if state is not None:
                restore(name, self.rooms[name], state, now, self._wall_clock())
            ROOMS.set(len(self.rooms))
        room = self.rooms[name]
        room.touched_at = now
        return room

    def _new_room(self) -> Room:
        p = self.policy
        return Room(p.window_seconds, p.style, p.num_images, NoveltyMemory(p.novelty_half_life_seconds),
                    wake=tuple(p.wake_phrase.split()), mode=p.scene_mode)

    def _forget_idle_rooms(self, now: float, keep: int | None = None) -> None:
        """Forget rooms nobody speaks in (so names sent once do not pile up), or, to make space, as many of the
        longest-idle ones as needed; a room with an open window holds unacked transcripts and is kept."""
        idle = sorted((r.touched_at, name) for name, r in self.rooms.items() if r.window is None)
        over = len(self.rooms) - keep if keep is not None else 0
        for i, (touched_at, name) in enumerate(idle):
            if i < over or now - touched_at > self.policy.room_idle_seconds:
                del self.rooms[name]
        ROOMS.set(len(self.rooms))
        if self._store is not None and now - self._pruned_at > 60:  # the saved rooms are forgotten alike
            self._pruned_at = now
            self._store.forget_before(self._wall_clock() - self.policy.room_idle_seconds)


def _advance(scene: Scene | None, selection: Selection, room: str) -> Scene:
    """`scene` moved on by a window's (or an upload part's) choice, each keyword scored against the best."""
    chosen = selection.chosen()
    best = max((c.score for c in chosen), default=1.0) or 1.0
    return update_scene(scene, {c.text: c.score / best for c in chosen}, selection.clean_lines, room)


def _evolution(last: ImagePrompt | None, scene: Scene | None) -> Evolve | None:
    """Paint `scene` over the picture the room's last prompt became, when that painted a scene of the same topic
    (a spoken paint, a slideshow picture or a new topic are painted afresh)."""
    if last is None or scene is None or last.scene is None:
        return None
    strength = repaint_strength(last.scene, scene)
    if strength is None:
        return None
    return Evolve(image_id=str(last.derived_id(GeneratedImage.KIND, "0")), strength=strength)


def _without_names(subject: str, chosen: list[Choice]) -> str:
    """A spoken subject, scrubbed, without the people it names (never painted), nor what scrubbing marked."""
    people = person_names([subject])
    words = [w for w in subject.split()
             if w.strip(".,!?").lower().removesuffix("'s") not in people and REMOVED not in w]
    return " ".join(words) or chosen[0].text


def _clip(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word with "…": a long spoken command is still acted on and shown,
    where the full text would fail its message's validation (and be retried, then lost)."""
    if len(text) <= limit:
        return text
    return text[:limit - 1].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def _seed(*parts: object) -> int:
    """A seed fixed by the prompt's identity: a redelivered window paints the same picture."""
    return derived_id(*parts).int % 2**31
