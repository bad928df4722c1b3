"""Which of Whisper's words were heard, by rules that hold on any CPU.

Whisper invents text where speech meets the end of its window, noise or silence ("Thank you very much for
watching.", "see you in the next video" on a loop). Whether it does, and the scores it gives, shift with the
CPU's floating-point path: a single threshold that hid it on one machine (compression ratio) let it through on
another. These rules test what makes such text invented, each with a wide margin over real speech:

- a word placed where the VAD heard no speech is dropped;
- a segment whose words are crammed (two or more said faster than anyone speaks: under 0.07 s a word, where
  invented tails and loops measured 0.001–0.035 s and real talk, read or conversational, at least 0.137 s) or
  improbable (their mean probability under 0.15: 0.01 on an invented "You", at least 0.38 in real talk) is
  dropped, as is one that repeats itself (compression ratio) or that Whisper calls silent (no-speech
  probability with a low log-probability). A single word has no pace: the alignment often gives a short real
  word ("in", "Hello.") no time, so faster-whisper's per-word anomaly score, summed over a segment, dropped whole
  sentences of real conversation (86 of 409 words on ../shared/audio/conversation);
- a run of Whisper's stock phrases (in any language it hears) is dropped unless all of it lies in detected speech
  at a speaking pace;
- a segment whose word times are estimated (whisper.py: its alignment took no time, so its words were spread
  over Whisper's own timestamps) keeps a word only if the word's middle lies in speech, and no stock phrase.

The VAD hears quiet speech badly: Silero hears nothing in a 1.9 s read phrase at RMS -50 dBFS. So it decides on
`for_speech_detection`'s copy of the audio, raised to a speaking level, while Whisper decodes the original
(raising what Whisper hears made it invent text on quiet speech).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from faster_whisper.transcribe import Segment, Word
from faster_whisper.vad import VadOptions, get_speech_timestamps

from services.transcriber.wer import normalise
from shared.audio import SAMPLE_RATE_HZ

# Whisper's word times are off by up to ~0.2 s; a word that overlaps speech padded by that much was heard.
SPEECH_PAD_MS = 200
UNHEARD_GAP_SECONDS = 0.5  # wordless speech spans closer than this are one stretch
NO_SPEECH_PROB_MAX = 0.6  # Whisper's own pair: a segment is silent when both are past their limits
LOGPROB_MIN = -1.0
COMPRESSION_RATIO_MAX = 2.4  # text that gzips this well repeats itself: a decoding loop
CRAMMED_SECONDS_PER_WORD = 0.07  # over 14 words a second: no one speaks that fast
IMPROBABLE_MEAN = 0.15  # faster-whisper's bound for an improbable word, here for a segment's words on average
# The VAD's copy of quiet audio: a peak under -30 dBFS is raised to -20 dBFS, by 30 dB at most (digital near-silence
# stays near silent).
QUIET_PEAK_DBFS, DETECTION_PEAK_DBFS, MAX_DETECTION_GAIN_DB = -30.0, -20.0, 30.0
STOCK_ANOMALY_MAX = 1.0  # a stock phrase with one crammed or improbable word is not trusted
# Phrases from the captions Whisper was trained on, which it produces on audio that has none of them, in each
# language it hears (subtitle credits of German, Spanish and French broadcasters and Amara's volunteers, sign-offs
# of videos). All are checked in every language: Whisper may invent them in another language than the room's.
STOCK_PHRASES: dict[str, tuple[str, ...]] = {
    "en": ("thank you for watching", "thanks for watching", "thank you very much", "thank you so much", "thank you",
           "please subscribe", "like and subscribe", "subscribe to my channel", "subscribe",
           "see you in the next video", "see you next time", "subtitles by", "captions by", "transcribed by"),
    "de": ("untertitel im auftrag des zdf für funk", "untertitel im auftrag des zdf", "untertitelung des zdf",
           "untertitel der amara.org-community", "untertitel von", "untertitelung im auftrag des zdf",
           "vielen dank fürs zuschauen", "danke fürs zuschauen", "abonniert den kanal", "bis zum nächsten mal",
           "vielen dank", "danke schön", "tschüss"),
    "es": ("subtítulos realizados por la comunidad de amara.org", "subtítulos por la comunidad de amara.org",
           "subtítulos en español", "gracias por ver el video", "gracias por ver", "suscríbete al canal",
           "suscríbete", "nos vemos en el próximo video", "hasta la próxima", "muchas gracias", "gracias"),
    "fr": ("sous-titres réalisés para la communauté d'amara.org", "sous-titres réalisés par la communauté d'amara.org",
           "sous-titrage st' 501", "sous-titrage société radio-canada", "sous-titres par", "merci d'avoir regardé",
           "merci d'avoir regardé cette vidéo", "abonnez-vous", "à la prochaine", "merci beaucoup", "merci"),
}
_STOCK = tuple(normalise(phrase) for phrases in STOCK_PHRASES.values() for phrase in phrases)


def for_speech_detection(audio: np.ndarray) -> np.ndarray:
    """`audio` (float32) as the VAD should hear it: audio whose peak is under QUIET_PEAK_DBFS raised to peak at
    DETECTION_PEAK_DBFS, by at most MAX_DETECTION_GAIN_DB; louder audio as it is."""
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak == 0.0 or peak >= 10 ** (QUIET_PEAK_DBFS / 20):
        return audio
    gain = min(10 ** (DETECTION_PEAK_DBFS / 20) / peak, 10 ** (MAX_DETECTION_GAIN_DB / 20))
    return (audio * gain).astype(np.float32)


def speech_spans(audio: np.ndarray) -> list[tuple[float, float]]:
    """Seconds where faster-whisper's Silero VAD (the one its `vad_filter` uses) hears speech, padded; `audio` as
    `for_speech_detection` gives it."""
    options = VadOptions(min_silence_duration_ms=300, speech_pad_ms=SPEECH_PAD_MS)
    return [(c["start"] / SAMPLE_RATE_HZ, c["end"] / SAMPLE_RATE_HZ) for c in get_speech_timestamps(audio, options)]


def heard_words(segments: Iterable[Segment], speech: Sequence[tuple[float, float]],
                guessed: Callable[[Segment], bool] = lambda segment: False) -> list[Word]:
    """The words of `segments` (decoded with word timestamps) that the rules above keep, in order; `guessed`
    tells the segments whose word times are estimated rather than aligned."""
    kept: list[Word] = []
    for segment in segments:
        if _silent(segment) or segment.compression_ratio > COMPRESSION_RATIO_MAX:
            continue
        words = [w for w in segment.words or () if w.word.strip()]
        if _crammed_or_improbable(words):
            continue
        estimated = guessed(segment)
        heard = _centred_in_speech if estimated else _in_speech
        doubted = {i for run in _stock_runs(words)
                   if estimated or sum(map(_anomaly, (words[i] for i in run))) >= STOCK_ANOMALY_MAX
                   or not all(_in_speech(words[i], speech) for i in run) for i in run}
        kept += [w for i, w in enumerate(words) if i not in doubted and heard(w, speech)]
    return kept


def _silent(segment: Segment) -> bool:
    return bool(segment.no_speech_prob > NO_SPEECH_PROB_MAX and segment.avg_logprob < LOGPROB_MIN)


def _in_speech(word: Word, speech: Sequence[tuple[float, float]]) -> bool:
    return any(word.start <= end and word.end >= start for start, end in speech)


def _centred_in_speech(word: Word, speech: Sequence[tuple[float, float]]) -> bool:
    return any(start <= (word.start + word.end) / 2 <= end for start, end in speech)


def _anomaly(word: Word) -> float:
    """faster-whisper's word anomaly score: improbable, implausibly short or long words."""
    duration = word.end - word.start
    return float((word.probability < 0.15) + max(0.0, 0.133 - duration) * 15 + max(0.0, duration - 2.0))


def _crammed_or_improbable(words: list[Word]) -> bool:
    """Words (not punctuation) said faster than speech goes, or that Whisper itself finds improbable on average."""
    said = [w for w in words if w.word.strip() not in string.punctuation]
    if not said:
        return False
    crammed = len(said) > 1 and (said[-1].end - said[0].start) / len(said) < CRAMMED_SECONDS_PER_WORD
    return crammed or float(np.mean([w.probability for w in said])) < IMPROBABLE_MEAN


def _stock_runs(words: list[Word]) -> list[list[int]]:
    """Runs of consecutive word indices that spell stock phrases."""
    tokens = [(i, token) for i, w in enumerate(words) for token in normalise(w.word)]
    marked: set[int] = set()
    for phrase in _STOCK:
        for k in range(len(tokens) - len(phrase) + 1):
            if [t for _, t in tokens[k:k + len(phrase)]] == phrase:
                marked.update(i for i, _ in tokens[k:k + len(phrase)])
    runs: list[list[int]] = []
    for i in sorted(marked):
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def unheard_speech(speech: Sequence[tuple[float, float]], middles: Sequence[float],
                   min_seconds: float) -> list[tuple[float, float]]:
    """Stretches of `speech` (seconds, as `speech_spans` gives them) of at least `min_seconds` in which no kept
    word's middle lies: spans without a word, joined across pauses that hold none either."""
    def has_word(start: float, end: float) -> bool:
        return any(start <= m <= end for m in middles)

    stretches: list[tuple[float, float]] = []
    for start, end in speech:
        if has_word(start, end):
            continue
        if stretches and not has_word(stretches[-1][1], start) and start - stretches[-1][1] < UNHEARD_GAP_SECONDS:
            stretches[-1] = (stretches[-1][0], end)
        else:
            stretches.append((start, end))
    return [(start, end) for start, end in stretches if end - start >= min_seconds]
