"""The living scene's update, window by window: what is still talked about stays put and grows, a new topic
enters where there is room, a forgotten one fades and is gone within two windows; setting and mood follow."""

from __future__ import annotations

import itertools

from services.prompter.scene import MAX_LIVING, repaint_strength, update
from shared.messages import Envelope, ImagePrompt
from shared.messages.prompt import MAX_STRENGTH, MIN_STRENGTH
from shared.messages.scene import Scene

CAMPING = {"tent": 1.0, "campfire": 0.8, "owl": 0.5}


def _run(windows: list[dict[str, float]], lines: list[list[str]] | None = None) -> list[Scene]:
    scenes: list[Scene] = []
    scene = None
    for index, talked in enumerate(windows):
        scene = update(scene, talked, (lines or [[]] * len(windows))[index], "den")
        scenes.append(scene)
    return scenes


def test_elements_still_talked_about_keep_their_id_and_place_and_grow() -> None:
    first, second = _run([CAMPING, {"tent": 1.0, "campfire": 0.6}])
    before = {e.keyword: e for e in first.elements}
    after = {e.keyword: e for e in second.elements}
    for keyword in ("tent", "campfire"):
        assert after[keyword].id == before[keyword].id
        assert after[keyword].x == before[keyword].x
        assert after[keyword].entered == 1
        assert after[keyword].weight > before[keyword].weight
        assert not after[keyword].fading
    assert after["owl"].fading and after["owl"].weight < before["owl"].weight


def test_a_new_topic_enters_at_once_and_the_old_one_is_gone_within_two_windows() -> None:
    scenes = _run([CAMPING, CAMPING, {"cake": 1.0, "balloons": 0.7}, {"cake": 1.0, "balloons": 0.9},
                   {"cake": 1.0}])
    old_ids = {e.id for e in scenes[1].elements}
    assert {e.keyword for e in scenes[2].elements} >= {"cake", "balloons"}  # the window the talk moved on
    assert not old_ids & {e.id for e in scenes[3].elements}  # two windows later nothing of the camping is left
    assert old_ids <= set(scenes[2].left) | set(scenes[3].left)


def test_new_elements_find_room_away_from_those_that_stay() -> None:
    first, second = _run([{"tent": 1.0}, {"tent": 1.0, "owl": 0.5, "lake": 0.4}])
    xs = sorted(e.x for e in second.elements)
    assert min(b - a for a, b in itertools.pairwise(xs)) >= 0.2
    assert {e.x for e in second.elements if e.keyword == "tent"} == {first.elements[0].x}


def test_a_full_wall_lets_fading_elements_give_way_and_never_holds_more_than_it_may() -> None:
    words = ["tent", "owl", "lake", "boat", "moon", "fox", "pine", "kite", "drum", "harp"][:MAX_LIVING]
    many = {word: 1.0 - i * 0.05 for i, word in enumerate(words)}
    scenes = _run([many, {"tent": 1.0, "owl": 1.0}, {"dragon": 1.0, "tent": 1.0, "owl": 1.0}])
    assert len(scenes[0].elements) == MAX_LIVING
    assert "dragon" in {e.keyword for e in scenes[2].elements}
    assert all(len(s.elements) <= MAX_LIVING for s in scenes)


def test_setting_is_sticky_and_mood_follows_the_talk_smoothly() -> None:
    happy = ["What a wonderful, lovely evening by the campfire!", "I love the stars, this is great!"]
    sad = ["This is awful, I hate the rain.", "Everything is terrible and sad."]
    scenes = _run([CAMPING, CAMPING, CAMPING, CAMPING], [happy, ["We talked about the tent."], sad, sad])
    assert scenes[0].time_of_day == "night" and scenes[1].time_of_day == "night"  # no cue: night stays
    assert scenes[0].valence > 0.3 and scenes[0].mood in ("joyful", "cheerful")
    assert scenes[3].valence < scenes[2].valence < scenes[1].valence
    assert scenes[3].weather == "rain"
    assert scenes[0].energy > scenes[1].energy


def test_the_same_talk_gives_the_same_scene() -> None:
    assert _run([CAMPING, {"cake": 1.0}]) == _run([CAMPING, {"cake": 1.0}])


def test_a_living_room_paints_its_scene_heaviest_first_and_keeps_it_when_talk_repeats() -> None:
    from services.generator.engines.poster import PosterBackend
    from services.generator.handler import GenerateHandler
    from services.prompter.engines.lexical import LexicalSelector
    from services.prompter.handler import Prompter
    from services.prompter.policy import Policy
    from tests.prompter.test_handler import transcripts

    published: list[Envelope] = []
    now = [0.0]
    prompter = Prompter(LexicalSelector(), published.append, lambda: lambda: None, Policy(window_seconds=30),
                        clock=lambda: now[0])
    talk = ["We pitched the tent by the lake and lit a campfire.", "The campfire smoke drifted over the tent.",
            "An owl hooted near the tent all night."]
    for _window in range(2):  # the same topic twice: a slideshow would hold it back as stale, a living room keeps it
        for transcript in transcripts(talk, room="den"):
            prompter.on_transcript(transcript)
        now[0] += 31
        prompter.tick()
    first, second = (p for p in published if isinstance(p, ImagePrompt))
    assert first.scene is not None and second.scene is not None
    assert [k.text for k in second.keywords] == [e.keyword for e in second.scene.ranked()]
    assert {e.id for e in first.scene.elements} <= {e.id for e in second.scene.elements}
    assert second.scene.time_of_day == "night" and "tent" in second.text
    assert prompter.rooms["den"].scene == second.scene
    # the second picture is painted over the first: the picture the generator makes of the first prompt
    assert first.evolve is None and second.evolve is not None
    painted = GenerateHandler(PosterBackend("PNG"), max_prompt_age_seconds=3600).paint_job(first)
    assert second.evolve.image_id == str(painted[0].id)
    assert MIN_STRENGTH <= second.evolve.strength <= MAX_STRENGTH


def test_the_scene_change_decides_how_much_is_repainted() -> None:
    same, grows, newcomer, new_topic = _run([CAMPING, CAMPING, {**CAMPING, "lake": 1.0, "canoe": 0.9},
                                             {"cake": 1.0, "balloons": 0.7}])
    assert repaint_strength(same, grows) == MIN_STRENGTH  # nothing entered or left: a touch
    assert MIN_STRENGTH < repaint_strength(grows, newcomer) <= MAX_STRENGTH  # elements entered: more
    assert repaint_strength(newcomer, new_topic) is None  # the talk moved on: painted afresh
    night = update(grows, CAMPING, ["We sat out in the snow this morning."], "den")
    assert night.weather == "snow" and repaint_strength(grows, night) > MIN_STRENGTH  # the setting changed
