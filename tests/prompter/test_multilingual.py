"""Keywords in German, Spanish and French: glossed through CLDR names, judged with the English tables, and never
a name, a stop word or a profanity; a room that mixes languages gets keywords from each."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import simplemma.lemmatizer
import wordfreq
from simplemma.strategies.dictionaries.dictionary_factory import DEFAULT_DICTIONARY_FACTORY

from services.prompter.engines.lexical import LexicalSelector
from services.prompter.engines.multilingual import (
    LOADER_THREAD,
    ForeignSelector,
    MultilingualSelector,
    languages_to_warm,
)
from services.prompter.handler import Prompter
from services.prompter.policy import Policy
from services.prompter.window import word_confidence
from shared.language import bridge, cldr_keywords, words
from shared.language.bridge import GLOSSED, english, lemma
from shared.messages import Command, Control, ImagePrompt, Transcript, Word

BEACH = {
    "de": ["Wir waren am Wochenende mit dem Hund am Strand.",
           "Der Hund ist die ganze Zeit ins Wasser gelaufen, und die Wellen waren riesig.",
           "Anna hat eine Sandburg gebaut und wir haben Eis gegessen.",
           "Am Abend gab es noch ein Feuer am Strand, so eine Scheiße, es hat geregnet."],
    "es": ["El sábado fuimos a la playa con el perro.",
           "El perro corría detrás de las olas todo el día.",
           "Lucía hizo un castillo de arena y comimos helado.",
           "Por la noche encendimos una hoguera en la playa, mierda, qué frío."],
    "fr": ["Samedi on est allés à la plage avec le chien.",
           "Le chien courait après les vagues toute la journée.",
           "Camille a construit un château de sable et on a mangé une glace.",
           "Le soir on a fait un feu sur la plage, putain qu'il faisait froid."],
}
NAMES = {"de": "anna", "es": "lucía", "fr": "camille"}
PROFANE = {"de": "scheiße", "es": "mierda", "fr": "putain"}


@pytest.mark.parametrize(("word", "language", "gloss"), [
    ("Hunde", "de", "dog"), ("perros", "es", "dog"), ("chiens", "fr", "dog"),
    ("Geburtstagskuchen", "de", "birthday cake"),
    ("pomme", "fr", "apple"),  # of "pomme rouge", "pomme verte" and "pomme de terre", the apple
    ("arbre", "fr", "tree"), ("playa", "es", "beach"),
    ("Bergen", "de", "mountain"),  # "in den Bergen": a dative plural simplemma takes for the city
    ("Schwamm", "de", "sponge"), ("Bäume", "de", "tree"),
    ("baguette", "fr", "baguette bread"),  # its plural "baguettes" names the chopsticks
    ("Schokoladenkuchen", "de", "pie"),  # no name holds the compound: its head, Kuchen, names the pie
    # no emoji is named by these; CLDR tags one with each as a keyword (🧀 "Käse", 🌲 "forêt"), aligned to English
    ("Käse", "de", "cheese"), ("Schnee", "de", "snow"), ("forêt", "fr", "forest"), ("fromage", "fr", "cheese"),
])
def test_a_word_glosses_as_the_english_name_of_what_it_names(word: str, language: str, gloss: str) -> None:
    assert english(word, language) == gloss


def test_words_that_name_no_drawable_thing_have_no_gloss() -> None:
    assert english("Meinung", "de") is None
    assert english("avis", "fr") is None
    assert english("dog", "xx") is None
    # German verbs are no nouns that share their lemma: "schwamm" (swam) is no Schwamm, "reisen" (to travel) no Reis
    assert english("schwimmen", "de") is None and english("reisen", "de") is None and english("spinnen", "de") is None
    assert english("laufen", "de") is None  # a CLDR keyword ("running"), but a German word in lower case is no noun
    assert lemma("perros", "es") == "perro"


@pytest.mark.parametrize("language", sorted(BEACH))
def test_the_topics_are_chosen_and_no_name_stop_word_or_profanity_is(language: str) -> None:
    selection = ForeignSelector(language).select(BEACH[language])
    glossed = {english(choice.text, language) for choice in selection.keywords}
    assert {"dog", "beach"} <= glossed, selection.keywords
    chosen = " ".join(choice.text.lower() for choice in selection.keywords)
    assert NAMES[language] not in chosen
    assert selection.removed["name"] >= 1 and selection.removed["profanity"] >= 1
    assert not any(PROFANE[language] in line.lower() for line in selection.clean_lines)


def test_a_sound_alike_non_word_is_never_chosen() -> None:
    """Whisper base writes what it did not catch as a sound-alike that is no word ("Kärsen", "Rummen" for a
    birthday's "Kerzen", "Blumen"); German capitalises it, so it looked like a noun and was painted. A compound
    no frequency list holds is still a word, and a sure word beside the non-words is still chosen."""
    selection = ForeignSelector("de").select(["Zum Geburtstag gab es Rummen und Kärsen.",
                                              "Die Rummen standen neben der Apfelbaumblüte.",
                                              "Und die Kärsen auf dem Tisch."])
    chosen = {choice.text for choice in selection.chosen()}
    assert not chosen & {"Rummen", "Kärsen"}, chosen
    assert "Apfelbaumblüte" in chosen and selection.removed["unknown"] == 4
    spanish = ForeignSelector("es").select(["Compré limones en el mercamo.", "El mercamo estaba lleno."])
    assert "mercamo" not in {choice.text for choice in spanish.chosen()} and spanish.removed["unknown"] == 2


@pytest.mark.parametrize(("word", "known"), [("Apfelbaumblüte", True), ("Geburtstagstorte", True),
                                             ("Kühlschrank", True), ("Klochen", False), ("Rummen", False)])
def test_a_german_compound_of_common_words_is_a_word_and_a_sound_alike_is_not(word: str, known: bool) -> None:
    assert words.is_word(word, "de") is known


def test_german_nouns_keep_their_capital() -> None:
    selection = ForeignSelector("de").select(BEACH["de"])
    assert all(choice.text[0].isupper() for choice in selection.keywords)


def test_a_language_without_word_lists_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="no word lists"):
        ForeignSelector("xx")


def test_a_mixed_room_gets_keywords_from_each_language() -> None:
    lines = ["We took the guitar to the campfire and sang all night.",
             "The guitar was out of tune but the campfire was lovely.",
             *BEACH["es"][:2]]
    selection = MultilingualSelector(LexicalSelector()).select(lines, languages=["en", "en", "es", "es"])
    texts = {choice.text.lower() for choice in selection.keywords}
    assert "guitar" in texts and {"perro", "playa"} & texts, texts
    assert all(choice.lines for choice in selection.keywords)
    for choice in selection.keywords:  # each keyword points at the lines of its own language
        assert set(choice.lines) <= ({0, 1} if choice.text.lower() == "guitar" else {0, 1, 2, 3})


def test_a_word_met_once_inside_a_longer_name_is_no_gloss_of_that_names_thing() -> None:
    """"cuisine" of "couteau de cuisine" is no knife, "precioso" of "piedra preciosa" no stone, and a verb whose
    lemma some name shares ("avez" → avoir) glosses as nothing; a country names no flag."""
    assert "knife" not in (english("cuisine", "fr") or "")
    assert english("precioso", "es") is None
    assert english("avez", "fr") != "china"


def test_a_verb_form_of_a_stop_word_is_no_keyword() -> None:
    selection = ForeignSelector("fr").select(["Vous avez un voilier?", "Oui, le voilier est au port."])
    assert "avez" not in {choice.text for choice in selection.chosen()}
    assert "voilier" in {choice.text for choice in selection.chosen()}


def test_the_written_dev_scenes_meet_the_choosing_targets() -> None:
    """bench/data/language_scenes.json's dev scenes (tuned on) as written: recall >= 0.75, precision >= 0.8 and
    a picture for >= 0.7 of the keywords, in each language; make bench-languages reports the held-out ones."""
    from bench.language_choice import load_scenes, parts, score

    for language, splits in load_scenes()["languages"].items():
        result = score(*parts(), splits["dev"], language)
        assert result["topic_recall"] >= 0.75 and result["keyword_precision"] >= 0.8, (language, result)
        assert result["depicted_share"] >= 0.7 and result["names_painted"] == 0, (language, result)


_TABLES = (DEFAULT_DICTIONARY_FACTORY._get_dictionary, bridge._index, cldr_keywords.lexicon, words.stop_words,
           words.profane_words, words.first_names, wordfreq.get_frequency_dict)  # lemmas, emoji names, ..., frequencies


def _tables_loaded() -> int:
    """How many times a language's table was loaded so far: the misses of each table's cache."""
    return sum(cache.cache_info().misses for cache in _TABLES)


def _loads_ended() -> None:
    """Wait (a minute at most) until the thread that loads word tables has loaded what it was given."""
    deadline = time.monotonic() + 60
    for thread in threading.enumerate():
        if thread.name == LOADER_THREAD:
            thread.join(max(0.0, deadline - time.monotonic()))
            assert not thread.is_alive(), "the word tables were still loading after a minute"


def _nothing_loaded() -> None:
    """As in a fresh process: no table loaded, nor a word looked up in one (those are cached apart)."""
    for cache in _TABLES:
        cache.cache_clear()
    simplemma.lemmatizer._legacy_lemmatizer_for.cache_clear()  # its lemmatizers keep each word's lemma
    wordfreq._wf_cache.clear()  # each word's frequency


def test_the_configured_languages_tables_are_loaded_at_start_so_a_first_window_loads_none() -> None:
    """A first French window waited 0.3-3.5 s for its tables on the prompter's thread (load 9-10 on 2 cores)."""
    assert languages_to_warm("en", ("en", "de")) == ()
    assert languages_to_warm("de", ("en", "fr")) == ("de",)
    assert languages_to_warm("auto", ("en", "fr")) == ("fr",)
    assert languages_to_warm("auto", ()) == GLOSSED
    selector = MultilingualSelector(LexicalSelector())
    selector.tables.start(languages_to_warm("fr", ()))  # as `voxframe prompter` does at start
    _loads_ended()
    loaded = _tables_loaded()
    selection = selector.select(
        ["Hier on a fait un pique-nique dans la forêt avec du fromage.", "Le chien a trouvé un champignon."],
        languages=["fr", "fr"])
    assert "chien" in [k.text for k in selection.keywords]
    assert _tables_loaded() == loaded


def test_a_language_the_prompter_hears_of_loads_on_a_thread_of_its_own_before_its_first_window() -> None:
    """A room set to Spanish from the dashboard, or one whose talk was detected as French, neither configured:
    their tables loaded on the room's first window, on the prompter's only thread (a Spanish window waited
    1.0-1.7 s after the set_language, at load 2-5 on 2 cores). Now the control and the first line start the
    load; the window that closes 5 s or more later finds the tables loaded."""
    _loads_ended()
    _nothing_loaded()
    now = [1000.0]
    prompts: list[ImagePrompt] = []
    prompter = Prompter(LexicalSelector(), prompts.append, lambda: lambda: None,  # type: ignore[arg-type]
                        Policy(window_seconds=30, scene_mode="slideshow"), clock=lambda: now[0])
    said = {room: [Transcript(room=room, source="mic", audio_id=str(uuid.uuid4()), text=line, language=language,
                              engine="test", model="none", audio_seconds=2, processing_seconds=0, sequence=i)
                   for i, line in enumerate(BEACH[language])]
            for room, language in (("kitchen", "es"), ("garden", "fr"))}
    prompter.on_control(Control(room="kitchen", source="dashboard", command=Command.SET_LANGUAGE, value="es"))
    prompter.on_transcript(said["garden"].pop(0))  # auto detected French
    _loads_ended()
    loaded = _tables_loaded()
    assert loaded, "no table was loaded before the windows closed"
    for transcript in said["kitchen"] + said["garden"]:
        prompter.on_transcript(transcript)
    now[0] += 30
    prompter.tick()
    keywords = {p.room: [k.text for k in p.keywords] for p in prompts}
    assert "perro" in keywords["kitchen"] and "chien" in keywords["garden"], keywords
    assert _tables_loaded() == loaded, "a window loaded word tables on the prompter's thread"


def test_a_doubtful_hearing_counts_once_another_utterance_repeats_it() -> None:
    """As in English: a word the engine was unsure of is dropped when said once (a mishearing, usually), kept when
    a second utterance says it too."""
    selector = ForeignSelector("es")
    once = selector.select(["Mira, un castillo en la colina.", "Sí, es muy viejo."], heard=[{"castillo": 0.3}, {}])
    twice = selector.select(["Mira, un castillo en la colina.", "Sí, el castillo es muy viejo."],
                            heard=[{"castillo": 0.3}, {"castillo": 0.35}])
    assert "castillo" not in {choice.text for choice in once.chosen()}
    assert "castillo" in {choice.text for choice in twice.chosen()}


def test_a_french_word_whisper_splits_at_its_apostrophe_is_as_sure_as_its_less_sure_piece() -> None:
    """Whisper gives "l'eau" as "l" and "'eau"; the selector reads "l'eau". Looked up whole it was missing, so a
    doubtful hearing counted as sure (base heard "prix de l'eau" for "frigo", and "l'eau" was painted)."""
    said = [("Elle", 0.51), ("s", 0.55), ("'est", 0.70), ("cachée", 0.82), ("sur", 0.74), ("le", 0.68),
            ("prix", 0.07), ("de", 0.19), ("l", 0.45), ("'eau.", 0.89)]
    transcript = Transcript(room="r", source="test", audio_id=str(uuid.uuid4()),
                            text=" ".join(w for w, _ in said).replace(" '", "'"), language="fr",
                            words=tuple(Word(text=w, start_seconds=i / 2, end_seconds=i / 2 + 0.4, confidence=p)
                                        for i, (w, p) in enumerate(said)),
                            engine="test", model="none", audio_seconds=5, processing_seconds=0)
    heard = word_confidence(transcript)
    assert heard["l'eau"] == 0.45 and heard["s'est"] == 0.55
    chosen = ForeignSelector("fr").select([transcript.text], heard=[heard]).chosen()
    assert not {"eau", "l'eau"} & {choice.text for choice in chosen}


def test_a_french_keyword_is_the_word_without_the_article_elided_onto_it() -> None:
    """"l'arbre" and "d'arbres" are one tree, captioned "arbre"; "aujourd'hui" stays one word."""
    selection = ForeignSelector("fr").select(["Aujourd'hui on a vu l'arbre près de l'étang.",
                                              "Un grand arbre, et plein d'arbres autour de l'étang."])
    texts = [choice.text for choice in selection.chosen()]
    assert "arbre" in texts and not [text for text in texts if "'" in text], texts
