"""Segmenter and VAD on real speech: cut at pauses, nothing from silence or noise, same result live or offline."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from shared.audio import (
    SAMPLE_RATE_HZ,
    WINDOW_SAMPLES,
    Segmenter,
    SegmenterOptions,
    SileroVad,
    decode_audio,
    segment_file,
    to_float32,
)
from shared.messages import EndReason
from tests.capture.reference import speech_bounds

MS = SAMPLE_RATE_HZ // 1000
UTTERANCES = ["speechbrain_spk1_snt1.wav", "pocketsphinx_librivox_ss01_0880.wav", "deepspeech_arctic_a0024.wav",
              "pocketsphinx_cards_005.wav", "speechbrain_spk2_snt2.wav"]


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE_HZ), dtype=np.int16)


def _conversation(speech_dir: Path, names: list[str], pause_s: float) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Recordings separated by pauses, and where each one's speech lies in the result."""
    pieces, bounds, offset = [_silence(pause_s)], [], int(pause_s * SAMPLE_RATE_HZ)
    for name in names:
        samples = decode_audio(speech_dir / name)
        start, end = speech_bounds(samples)
        bounds.append((offset + start, offset + end))
        pieces += [samples, _silence(pause_s)]
        offset += len(samples) + int(pause_s * SAMPLE_RATE_HZ)
    return np.concatenate(pieces), bounds


def test_each_utterance_becomes_one_segment_with_boundaries_near_the_speech(speech_dir: Path) -> None:
    """Starts within 350 ms of the speech; ends no more than 350 ms before its end (the reference counts breath and
    reverb the VAD does not) and no more than the post-roll and 150 ms after it (+288…+546 ms measured)."""
    stream, bounds = _conversation(speech_dir, UTTERANCES, pause_s=1.5)
    segments = segment_file(stream)
    assert len(segments) == len(UTTERANCES)
    post_roll_ms = SegmenterOptions().post_roll_ms
    for segment, (start, end) in zip(segments, bounds, strict=True):
        assert abs(segment.start_sample - start) <= 350 * MS, (segment.start_sample - start) / MS
        assert -350 * MS <= segment.end_sample - end <= (post_roll_ms + 150) * MS, (segment.end_sample - end) / MS
        assert segment.end_reason is EndReason.SILENCE
        assert np.array_equal(segment.samples, stream[segment.start_sample:segment.end_sample])


def test_short_pauses_stay_inside_one_segment(speech_dir: Path) -> None:
    stream, bounds = _conversation(speech_dir, UTTERANCES[:3], pause_s=0.4)
    segments = segment_file(stream)
    assert len(segments) == 1
    assert segments[0].start_sample <= bounds[0][0] and segments[0].end_sample >= bounds[-1][1]


def test_feeding_in_any_block_size_gives_the_same_segments_as_a_whole_file(speech_dir: Path) -> None:
    stream, _ = _conversation(speech_dir, UTTERANCES[:3], pause_s=1.2)
    offline = segment_file(stream)
    rng = np.random.default_rng(7)
    live, segmenter, begin = [], Segmenter(), 0
    while begin < len(stream):
        size = int(rng.integers(1, 3000))
        live += segmenter.feed(stream[begin:begin + size])
        begin += size
    live += segmenter.flush()
    assert [(s.start_sample, s.end_sample, s.end_reason) for s in live] == \
           [(s.start_sample, s.end_sample, s.end_reason) for s in offline]
    assert len(offline) == 3


def test_silero_gives_the_same_probabilities_streamed_or_batched(speech_dir: Path) -> None:
    samples = decode_audio(speech_dir / "deepspeech_new_home_in_the_stars.wav")  # 0.57 s of silence first
    windows = to_float32(samples[:len(samples) // WINDOW_SAMPLES * WINDOW_SAMPLES]).reshape(-1, WINDOW_SAMPLES)
    batched = SileroVad().speech_probabilities(windows)
    streaming = SileroVad()
    streamed = np.concatenate([streaming.speech_probabilities(windows[i:i + 3]) for i in range(0, len(windows), 3)])
    assert np.allclose(batched, streamed, atol=1e-6)
    assert batched.max() > 0.9 and batched[:15].max() < 0.2  # speech found; the leading silence is not speech


def _noise(kind: str, seconds: float = 20.0) -> np.ndarray:
    rng = np.random.default_rng(3)
    n = int(seconds * SAMPLE_RATE_HZ)
    t = np.arange(n) / SAMPLE_RATE_HZ
    white = rng.standard_normal(n)
    brown = np.cumsum(white)
    brown -= np.convolve(brown, np.ones(4000) / 4000, mode="same")
    signal = {
        "digital silence": np.zeros(n),
        "quiet hiss": 0.01 * white,
        "loud hiss": 0.3 * white,
        "rumble": 0.5 * brown / np.abs(brown).max(),
        "mains hum": 0.3 * np.sin(2 * np.pi * 50 * t) + 0.1 * np.sin(2 * np.pi * 150 * t),
        "beep": 0.3 * np.sin(2 * np.pi * 1000 * t),
    }[kind]
    return np.clip(np.rint(signal * 32767), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("kind", ["digital silence", "quiet hiss", "loud hiss", "rumble", "mains hum", "beep"])
def test_silence_and_steady_noise_produce_no_segments(kind: str) -> None:
    assert segment_file(_noise(kind)) == []


def test_a_long_monologue_is_cut_below_the_maximum_at_its_pauses(speech_dir: Path) -> None:
    names = [f"pocketsphinx_librivox_ss01_{n}.wav" for n in ("0870", "0880", "0890", "0920", "0930")]
    stream, _ = _conversation(speech_dir, names, pause_s=0.0)  # only the readers' own pauses, all < 800 ms
    options = SegmenterOptions(max_segment_s=8.0)
    segments = segment_file(stream, options)
    assert len(segments) >= 3
    assert all(s.duration_seconds <= options.max_segment_s for s in segments)
    assert {s.end_reason for s in segments[:-1]} == {EndReason.MAX_LENGTH}
    for before, after in itertools.pairwise(segments):
        assert after.start_sample == before.end_sample  # cut, not trimmed: no speech lost between pieces
        cut = stream[before.end_sample - 10 * MS:before.end_sample + 10 * MS].astype(np.float64)
        assert np.sqrt(np.mean(cut**2)) < 0.15 * np.sqrt(np.mean(stream.astype(np.float64) ** 2)), \
            "cut inside speech, not at a pause"


def test_speech_without_any_pause_is_cut_at_its_quietest_point(speech_dir: Path) -> None:
    speech = decode_audio(speech_dir / "pocketsphinx_librivox_ss01_0870.wav")
    start, end = speech_bounds(speech)
    dense = np.tile(speech[start:end], 3)  # 21 s of speech with no gap at the joins
    segments = segment_file(dense, SegmenterOptions(max_segment_s=6.0))
    assert all(s.duration_seconds <= 6.0 for s in segments)
    assert sum(len(s.samples) for s in segments) >= 0.9 * len(dense)


def test_a_click_shorter_than_the_minimum_speech_is_dropped(speech_dir: Path) -> None:
    speech = decode_audio(speech_dir / "pocketsphinx_cards_001.wav")
    start, _ = speech_bounds(speech)
    blip = speech[start:start + 120 * MS]
    stream = np.concatenate([_silence(1), blip, _silence(1.5)])
    assert segment_file(stream, SegmenterOptions(min_speech_ms=400)) == []


def test_flush_returns_the_utterance_in_progress_with_the_given_reason(speech_dir: Path) -> None:
    speech = decode_audio(speech_dir / UTTERANCES[1])
    segmenter = Segmenter()
    assert segmenter.feed(np.concatenate([_silence(1), speech[:len(speech) // 2]])) == []
    [segment] = segmenter.flush(EndReason.MUTED)
    assert segment.end_reason is EndReason.MUTED
    assert segment.end_sample <= segmenter.position
    assert segmenter.flush() == []  # nothing left over


def test_a_short_phrase_waits_for_the_rest_of_its_sentence(speech_dir: Path) -> None:
    """Under short_speech_s of speech, a 1 s pause does not end the segment (Whisper mishears a phrase heard alone:
    JFK's "And so, my fellow Americans" came out "am I fellow"); after longer speech the same pause does."""
    sentence = decode_audio(speech_dir / "pocketsphinx_librivox_ss01_0870.wav")  # 7 s read without a long pause
    start, end = speech_bounds(sentence)
    sentence = sentence[start:end]
    assert len(sentence) > (SegmenterOptions().short_speech_s + 0.5) * SAMPLE_RATE_HZ
    phrase = sentence[:1500 * MS]
    # the pauses the VAD sees are longer than the silence put in (onsets and ends are soft): wide margins here
    options = SegmenterOptions(end_silence_ms=800, short_end_silence_ms=2500)
    phrase_first = np.concatenate([_silence(1), phrase, _silence(1.2), sentence, _silence(3)])
    sentence_first = np.concatenate([_silence(1), sentence, _silence(1.2), phrase, _silence(3)])
    assert len(segment_file(phrase_first, options)) == 1
    assert len(segment_file(sentence_first, options)) == 2


def test_pre_roll_never_reaches_back_into_the_previous_segment(speech_dir: Path) -> None:
    stream, _ = _conversation(speech_dir, UTTERANCES[:2], pause_s=0.9)  # just past end_silence_ms
    segments = segment_file(stream, SegmenterOptions(pre_roll_ms=600, end_silence_ms=700))
    assert len(segments) == 2
    assert segments[1].start_sample >= segments[0].end_sample


@pytest.mark.parametrize("bad", [{"vad_threshold": 1.5}, {"end_silence_ms": 100, "post_roll_ms": 300},
                                 {"max_segment_s": 1.0}, {"pre_roll_ms": -1}])
def test_nonsense_options_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        SegmenterOptions(**bad)  # type: ignore[arg-type]


def test_feeding_anything_but_int16_mono_is_refused() -> None:
    with pytest.raises(ValueError, match="int16"):
        Segmenter().feed(np.zeros(1600, dtype=np.float32))


def test_a_segment_keeps_as_much_audio_after_speech_as_faster_whisper_pads_speech_with(speech_dir: Path) -> None:
    """Whisper drops the words a segment ends on when its audio stops right after them; in a whole recording
    faster-whisper's own VAD keeps `speech_pad_ms` (400 ms) past speech, so a segment keeps at least that much."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    stream, _ = _conversation(speech_dir, UTTERANCES, pause_s=1.5)
    pad_ms = VadOptions().speech_pad_ms
    spoken = get_speech_timestamps(to_float32(stream), VadOptions(speech_pad_ms=0, min_silence_duration_ms=300))
    segments = segment_file(stream)
    assert len(segments) == len(UTTERANCES)
    for segment in segments:
        speech_end = max(s["end"] for s in spoken if segment.start_sample <= s["end"] <= segment.end_sample)
        assert segment.end_sample - speech_end >= (pad_ms - 32) * MS, (segment.end_sample - speech_end) / MS
