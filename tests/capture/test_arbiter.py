"""One mic's side of room arbitration on a clock the test moves: what the room's mics keep when they announce
the same speech at different moments, or cut it differently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from shared.audio import SAMPLE_RATE_HZ, SegmenterOptions, decode_audio
from shared.audio.arbiter import Arbiter
from shared.audio.fingerprint import envelope_db, loudness
from shared.messages import AudioSegment, EndReason, Heard, MicStatus

ROOM = "den"
TICK_MS = 50  # a capture releases the segments whose hold is over this often (services/capture/__main__.py)
DELIVERY_MS = 5  # a notice's trip over the broker
STATUS_MS = 1000  # each mic tells the room it is listening this often (services/capture/__main__.py)
START_AT = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)


class _Clock:
    ms = 0

    def __call__(self) -> float:
        return self.ms / 1000


def _segment(mic: str, samples: np.ndarray, start_s: float = 0.0) -> AudioSegment:
    start_at = START_AT + timedelta(seconds=start_s)
    end_at = start_at + timedelta(seconds=len(samples) / SAMPLE_RATE_HZ)
    return AudioSegment(room=ROOM, source=mic, pcm=samples.astype("<i2").tobytes(), start_at=start_at,
                        end_at=end_at, end_reason=EndReason.SILENCE, origin_at=end_at)


def _in_a_room(samples: np.ndarray, seed: int) -> np.ndarray:
    """Speech (float samples) as a mic hears it over a quiet room (-60 dBFS)."""
    noise = np.random.default_rng(seed).normal(0, 32.768, len(samples))
    return np.clip(samples + noise, -32768, 32767).astype(np.int16)


def _said(path: Path) -> np.ndarray:
    """A recording said at -6 dBFS peak, so that where a mic is, not how the recording was made, sets its level."""
    samples = decode_audio(path).astype(np.float64)
    return samples * (16384 / np.abs(samples).max())


def _arbitrate(cuts: dict[int, list[AudioSegment]]) -> tuple[list[AudioSegment], list[tuple[AudioSegment, str]]]:
    """Mics "sofa" and "door", which hear each other, announce the segments they cut at each millisecond of `cuts`;
    returns what they kept and what they left to the other mic, once every hold is over."""
    clock = _Clock()
    arbiters = {mic: Arbiter(ROOM, mic, clock=clock) for mic in ("sofa", "door")}
    in_flight: list[tuple[int, Heard]] = []
    kept: list[AudioSegment] = []
    dropped: list[tuple[AudioSegment, str]] = []
    for ms in range(max(cuts) + 3000):
        clock.ms = ms
        if ms % STATUS_MS == 0:
            for arbiter, other in ((arbiters["sofa"], "door"), (arbiters["door"], "sofa")):
                arbiter.on_status(MicStatus(room=ROOM, source=other, level_dbfs=-40, speech_ratio=0.5))
        for segment in cuts.get(ms, []):
            in_flight.append((ms + DELIVERY_MS, arbiters[segment.source].hold(segment)))
        for heard in [h for due, h in in_flight if due == ms]:
            for arbiter in arbiters.values():
                arbiter.on_heard(heard)
        if ms % TICK_MS == 0:
            for arbiter in arbiters.values():
                mine, theirs = arbiter.release()
                kept += mine
                dropped += theirs
    assert not any(arbiter.holding for arbiter in arbiters.values())
    return kept, dropped


def test_a_mic_that_ends_the_utterance_later_as_a_short_one_still_has_its_say(speech_dir: Path) -> None:
    """Two mics hear one utterance near short_speech_s: the quieter counts a little more speech and ends it at
    end_silence_ms, the nearer a little less and waits for the longer pause, so its notice comes the segmenter's
    spread later. The quieter mic must still hold its copy then, or the room sends the utterance twice."""
    later_ms = SegmenterOptions().end_silence_spread_ms
    assert later_ms > 0
    utterance = decode_audio(speech_dir / "pocketsphinx_librivox_ss01_0880.wav")
    kept, dropped = _arbitrate({0: [_segment("door", (utterance * 0.5).astype(np.int16))],
                                later_ms: [_segment("sofa", utterance)]})
    assert [s.source for s in kept] == ["sofa"]
    assert [(s.source, winner) for s, winner in dropped] == [("door", "sofa")]


def test_the_same_cut_a_little_off_on_each_mic_goes_on_once(speech_dir: Path) -> None:
    """The far mic's VAD keeps a tenth of a second more of the room's echo, and its clock runs ahead by the most the
    fingerprint allows for (240 ms): its copy sticks out of the near mic's by a third of a second, and is still
    the same cut, heard worse."""
    utterance = _said(speech_dir / "pocketsphinx_librivox_ss01_0880.wav")
    tail = np.zeros(int(0.1 * SAMPLE_RATE_HZ))
    near = _segment("sofa", _in_a_room(utterance, seed=1))
    far = _segment("door", _in_a_room(np.concatenate([utterance * 0.5, tail]), seed=2), start_s=0.24)
    end_ms = round(len(utterance) / SAMPLE_RATE_HZ * 1000)
    kept, dropped = _arbitrate({end_ms + 800: [near], end_ms + 900: [far]})
    assert [s.source for s in kept] == ["sofa"]
    assert [(s.source, winner) for s, winner in dropped] == [("door", "sofa")]


def test_a_mic_that_cuts_an_utterance_in_two_where_the_other_does_not_loses_none_of_it(speech_dir: Path) -> None:
    """One speaker beside the door, then another nearer the sofa after a pause of a second, which the door mic
    ends a segment at (it counted the first part long) and the sofa mic keeps inside (it counted it short). The
    door heard the first part best, the sofa the second: the sofa's long segment is not the door's first part,
    nor the door's second part the sofa's long segment, and every part of the talk goes on from some mic."""
    first, second = _said(speech_dir / "speechbrain_spk1_snt1.wav"), _said(speech_dir / "speechbrain_spk2_snt1.wav")
    pause = np.zeros(SAMPLE_RATE_HZ)
    second_s = (len(first) + len(pause)) / SAMPLE_RATE_HZ
    sofa = _segment("sofa", _in_a_room(np.concatenate([first * 0.25, pause, second * 0.5]), seed=1))
    door_first = _segment("door", _in_a_room(first, seed=2))
    door_second = _segment("door", _in_a_room(second * 0.25, seed=3), start_s=second_s)
    first_cut_ms = round(len(first) / SAMPLE_RATE_HZ * 1000) + SegmenterOptions().end_silence_ms
    last_cut_ms = round(sofa.duration_seconds * 1000) + SegmenterOptions().end_silence_ms
    assert _score(door_first) > _score(sofa) > _score(door_second)  # each better heard than the next
    kept, _ = _arbitrate({first_cut_ms: [door_first], last_cut_ms: [sofa, door_second]})
    for part in (door_first, door_second):
        assert any(s.start_at <= part.start_at and part.end_at <= s.end_at for s in kept), \
            f"{part.start_at:%S.%f}-{part.end_at:%S.%f} went nowhere; kept {[(s.source, s.start_at) for s in kept]}"


def _score(segment: AudioSegment) -> float:
    return loudness(envelope_db(np.frombuffer(segment.pcm, dtype="<i2")))
