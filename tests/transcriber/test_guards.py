"""The rules that tell heard words from invented ones, on Whisper's own output as measured on an AMD EPYC.

The segments below are what faster-whisper tiny.en returned there (times, probabilities, scores), so these tests
hold on any CPU: the rules are checked against fixed inputs, and test_whisper_engine.py checks the whole engine
on real audio by properties.
"""

from __future__ import annotations

from faster_whisper.transcribe import Segment, Word

from services.transcriber.engines.guards import heard_words, unheard_speech

SPEECH = [(0.0, 1.76)]  # the VAD's speech in speechbrain_spk2_snt2.wav: all of its 1.76 s


def segment(words: list[tuple[str, float, float, float]], avg_logprob: float = -0.4, no_speech_prob: float = 0.01,
            compression_ratio: float = 0.8, tokens: tuple[int, ...] = ()) -> Segment:
    timed = [Word(start=start, end=end, word=text, probability=p) for text, start, end, p in words]
    return Segment(id=0, seek=0, start=timed[0].start, end=timed[-1].end, text="".join(w.word for w in timed),
                   tokens=list(tokens), avg_logprob=avg_logprob, compression_ratio=compression_ratio,
                   no_speech_prob=no_speech_prob, words=timed, temperature=0.0)


SAID = segment([(" What", 0.0, 0.36, 0.81), (" joy", 0.36, 0.66, 1.0), (" there", 0.66, 0.92, 0.99),
                (" is", 0.92, 1.14, 1.0), (" in", 1.14, 1.26, 0.94), (" living.", 1.26, 1.46, 0.96)], -0.39, 0.006)
# The invented tail: six words crammed into 0.1 s at the end of the audio, inside the VAD's speech.
INVENTED = segment([(" Thank", 1.46, 1.46, 0.02), (" you", 1.46, 1.46, 0.95), (" very", 1.46, 1.46, 0.12),
                    (" much", 1.46, 1.48, 0.99), (" for", 1.48, 1.56, 0.23), (" watching.", 1.56, 1.56, 0.47)],
                   -1.08, 0.375, 1.17)


def texts(words: list[Word]) -> list[str]:
    return [w.word.strip() for w in words]


def test_words_crammed_into_no_time_are_dropped_even_inside_speech() -> None:
    """The tail that made test_short_tail_* fail on AMD EPYC: the said words stay, the invented ones go."""
    assert texts(heard_words([SAID, INVENTED], SPEECH)) == ["What", "joy", "there", "is", "in", "living."]


# Real conversation, decoded on the same AMD EPYC (../shared/audio/conversation): the word alignment gives short words
# no time ("in", "though.", a lone "Hello."), and a speaker's first word can be improbable ("but"). faster-whisper's
# per-word anomaly score, summed over a segment, dropped each of these whole, though the bare engine keeps them.
JERSEY_SPEECH = [(0.09, 0.62), (0.98, 15.18)]  # phone_newjersey_texas.wav (pyannote-audio's sample call)
JERSEY = segment([(" I'm", 13.78, 13.96, 0.99), (" in", 13.96, 13.96, 0.98), (" New", 13.96, 14.16, 1.0),
                  (" Jersey", 14.16, 14.46, 1.0), (" now,", 14.46, 14.8, 0.96), (" though.", 15.06, 15.06, 1.0)])
HELLO = segment([(" Hello.", 1.82, 1.84, 0.84)])
# AMI Meeting Corpus ES2002a (AMI Consortium, CC BY 4.0), two headsets summed, about -41 dBFS.
PREMIUM_SPEECH = [(0.09, 2.54), (2.71, 6.89), (7.35, 9.0)]
PREMIUM = segment([(" but", 0.0, 0.64, 0.09), (" is", 0.64, 0.72, 0.93), (" this", 0.72, 0.86, 0.96),
                   (" going", 0.86, 1.04, 0.69), (" to", 1.04, 1.06, 1.0), (" be", 1.06, 1.24, 0.99),
                   (" like", 1.24, 1.34, 0.89), (" the", 1.34, 1.48, 0.94), (" premium", 1.48, 1.7, 0.98),
                   (" product?", 1.7, 2.52, 0.99)], -0.41, 0.19, 1.18)


def test_real_conversation_with_words_aligned_to_no_time_is_kept() -> None:
    """A segment said at a speaking pace stays whole, whatever single words the alignment squeezed."""
    assert texts(heard_words([HELLO, JERSEY], JERSEY_SPEECH)) == ["Hello.", "I'm", "in", "New", "Jersey", "now,",
                                                                  "though."]
    assert len(heard_words([PREMIUM], PREMIUM_SPEECH)) == 10


def test_words_faster_than_speech_or_improbable_on_the_whole_are_dropped() -> None:
    """Invented tails measured after speechbrain recordings: crammed (four words in 0.14 s after 3 s of pink noise),
    or one word Whisper itself gives 0.01 (pink noise after speechbrain_spk1_snt1.wav)."""
    crammed = segment([(" Thank", 1.48, 1.48, 0.02), (" you", 1.48, 1.48, 0.97), (" for", 1.48, 1.62, 0.23),
                       (" watching.", 1.62, 1.62, 0.65)], -1.22, 0.38, 0.74)
    improbable = segment([(" You", 2.86, 3.34, 0.01)], -0.99, 0.89, 0.27)

    assert heard_words([crammed], [(0.0, 1.9)]) == []
    assert heard_words([improbable], [(0.0, 3.21)]) == []


def test_a_word_where_the_vad_heard_no_speech_is_dropped() -> None:
    """Words beyond the VAD's speech (plus its 0.2 s padding, already in the spans) are not kept."""
    late = segment([(" Thank", 3.1, 3.4, 0.9), (" you.", 3.4, 3.7, 0.9)])
    early = segment([(" so", 0.0, 0.3, 0.9), (" what", 0.3, 0.6, 0.9)])

    assert texts(heard_words([early, late], [(0.0, 1.0)])) == ["so", "what"]


def test_a_stock_phrase_said_at_a_speaking_pace_in_speech_is_kept() -> None:
    """People do say "thank you very much": at a plausible pace and probability, inside speech, it stays."""
    said = segment([(" Thank", 0.2, 0.5, 0.9), (" you", 0.5, 0.7, 0.95), (" very", 0.7, 0.95, 0.9),
                    (" much", 0.95, 1.3, 0.97), (" for", 1.3, 1.5, 0.9), (" the", 1.5, 1.65, 0.9),
                    (" tea.", 1.65, 2.0, 0.9)])

    assert texts(heard_words([said], [(0.0, 2.2)])) == ["Thank", "you", "very", "much", "for", "the", "tea."]


def test_a_doubtful_stock_phrase_goes_and_the_rest_of_its_segment_stays() -> None:
    """A stock phrase with a crammed, improbable word, or reaching past speech, is dropped as a whole."""
    crammed = segment([(" Jump", 0.0, 0.3, 0.95), (" the", 0.3, 0.45, 0.9), (" fence.", 0.45, 0.9, 0.9),
                       (" Thanks", 0.9, 0.95, 0.1), (" for", 0.95, 1.1, 0.8), (" watching.", 1.1, 1.4, 0.8)])
    past_speech = segment([(" Mend", 0.0, 0.3, 0.9), (" the", 0.3, 0.45, 0.9), (" coat.", 0.45, 0.9, 0.9),
                           (" Thank", 0.95, 1.2, 0.9), (" you.", 2.5, 2.8, 0.9)])

    assert texts(heard_words([crammed], [(0.0, 1.5)])) == ["Jump", "the", "fence."]
    assert texts(heard_words([past_speech], [(0.0, 1.5)])) == ["Mend", "the", "coat."]


def test_a_looping_or_silent_segment_is_dropped() -> None:
    """Whisper's own signs: text that repeats itself, or a window it calls silent with a low log-probability."""
    loop = segment([(" see", 0.2, 0.5, 0.9), (" you", 0.5, 0.8, 0.9)], compression_ratio=11.06)
    silent = segment([(" so", 0.2, 0.5, 0.9), (" yes", 0.5, 0.8, 0.9)], avg_logprob=-1.2, no_speech_prob=0.7)
    unsure = segment([(" so", 0.2, 0.5, 0.9), (" yes", 0.5, 0.8, 0.9)], avg_logprob=-0.5, no_speech_prob=0.7)

    assert heard_words([loop, silent], [(0.0, 1.0)]) == []
    assert texts(heard_words([unsure], [(0.0, 1.0)])) == ["so", "yes"]  # confident text in a noisy window stays


def test_stock_phrases_of_every_language_whisper_hears_are_doubted_alike() -> None:
    """Whisper base invents subtitle credits and sign-offs in the language it decodes: a German credit with an
    improbable word, a Spanish one crammed into no time, go, though inside speech; a French thank-you said at a
    speaking pace stays."""
    german = segment([(" Wir", 0.0, 0.3, 0.9), (" backen", 0.3, 0.7, 0.9), (" Kuchen.", 0.7, 1.2, 0.9),
                      (" Untertitel", 1.6, 2.0, 0.1), (" im", 2.0, 2.1, 0.8), (" Auftrag", 2.1, 2.5, 0.8),
                      (" des", 2.5, 2.6, 0.9), (" ZDF", 2.6, 2.9, 0.9)])
    spanish = segment([(" Vamos", 0.0, 0.4, 0.9), (" a", 0.4, 0.5, 0.9), (" la", 0.5, 0.6, 0.9),
                       (" playa.", 0.6, 1.0, 0.9), (" Subtítulos", 1.0, 1.0, 0.1), (" realizados", 1.0, 1.0, 0.3),
                       (" por", 1.0, 1.02, 0.5), (" la", 1.02, 1.02, 0.5), (" comunidad", 1.02, 1.04, 0.4),
                       (" de", 1.04, 1.04, 0.5), (" Amara.org", 1.04, 1.06, 0.4)])
    french = segment([(" Merci", 0.2, 0.6, 0.9), (" beaucoup", 0.6, 1.1, 0.9), (" pour", 1.1, 1.3, 0.9),
                      (" le", 1.3, 1.4, 0.9), (" gâteau.", 1.4, 1.9, 0.9)])

    assert texts(heard_words([german], [(0.0, 3.0)])) == ["Wir", "backen", "Kuchen."]
    assert texts(heard_words([spanish], [(0.0, 1.2)])) == ["Vamos", "a", "la", "playa."]
    assert texts(heard_words([french], [(0.0, 2.1)])) == ["Merci", "beaucoup", "pour", "le", "gâteau."]


# The streamed "one, two, three" on an AMD EPYC: "1." aligned to no time (4.68-4.68), so whisper.py spread it over
# Whisper's own timestamps, 4.00-5.00 s; the VAD's speech (padded) around it.
COUNT_SPEECH = [(0.088, 4.712), (4.952, 5.704), (5.944, 11.88)]
GUESSED = (1,)


def guessed(s: Segment) -> bool:
    return tuple(s.tokens) == GUESSED


def test_a_word_with_estimated_times_is_kept_only_when_its_middle_is_in_speech() -> None:
    """An estimated span may overlap speech by chance; its middle must lie in speech for its word to count."""
    one = segment([(" 1.", 4.0, 5.0, 0.44)], tokens=GUESSED)
    off_centre = segment([(" 1.", 4.5, 5.4, 0.44)], tokens=GUESSED)  # overlaps speech, middle 4.95 in the pause
    two = segment([(" 2.", 5.24, 5.66, 0.78)])

    assert texts(heard_words([one, two], COUNT_SPEECH, guessed)) == ["1.", "2."]
    assert texts(heard_words([off_centre, two], COUNT_SPEECH, guessed)) == ["2."]
    assert texts(heard_words([off_centre], COUNT_SPEECH)) == ["1."]  # aligned times: overlap is enough


def test_a_stock_phrase_with_estimated_times_is_dropped() -> None:
    """Whether a stock phrase lies in speech cannot be told from estimated times: it goes, even at a speaking pace."""
    said = segment([(" Thank", 6.0, 6.5, 0.9), (" you.", 6.5, 7.0, 0.9)], tokens=GUESSED)

    assert heard_words([said], COUNT_SPEECH, guessed) == []
    assert texts(heard_words([said], COUNT_SPEECH)) == ["Thank", "you."]


def test_speech_that_kept_no_word_is_found_for_hearing_again_across_its_short_pauses() -> None:
    """A joined piece whose middle Whisper skipped (3.4 s of playing cards heard as nothing in 20 s of read speech):
    the wordless spans, joined across a pause holding no word, and none shorter than asked for (a filler)."""
    speech = [(0.0, 4.0), (5.0, 6.2), (6.5, 8.4), (9.0, 9.6), (12.0, 15.0)]
    middles = [1.0, 2.5, 3.5, 13.0]
    assert unheard_speech(speech, middles, 1.5) == [(5.0, 8.4)]  # not (9.0, 9.6): too short to be a sentence
    assert unheard_speech(speech, [*middles, 6.3], 1.5) == [(6.5, 8.4)]  # a word in the pause splits them
    assert unheard_speech(speech, [*middles, 7.0], 1.5) == []
