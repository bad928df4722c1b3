"""A room's living scene, as the prompter keeps it and every generator receives it: the things on the wall
(each with a stable id, a weight and a place), the setting and the mood. All a generator needs to paint the same
scene again, so generators stay stateless."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from shared.messages.envelope import PART_CONFIG, Count

MAX_ELEMENTS = 12  # more becomes clutter on a frame seen from across the room
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Place = Literal["outdoors", "indoors"]
TimeOfDay = Literal["day", "night"]
Weather = Literal["clear", "cloudy", "rain", "snow"]
SceneMode = Literal["living", "slideshow"]
SCENE_MODES: tuple[SceneMode, ...] = ("living", "slideshow")


class SceneElement(BaseModel):
    """One thing the room talks about, where it stands in the composition and how present it is."""

    model_config = PART_CONFIG

    id: str = Field(min_length=1, max_length=32, description="stable while the element stays in the scene")
    keyword: str = Field(min_length=1, max_length=64)
    weight: Fraction = Field(description="grows while talked about, decays when not; it leaves under a threshold")
    x: Fraction = Field(description="horizontal centre in the composition, as a fraction of the width")
    entered: Count = Field(description="the scene's window in which it entered")
    topic: Count = Field(0, description="the scene's topic it entered with; a past topic's elements leave fast")
    fading: bool = Field(False, description="not talked about in the last window: on its way out")


class Scene(BaseModel):
    """A room's scene after one window: what is in it, what just left, the setting and the mood."""

    model_config = PART_CONFIG

    window: Count = Field(0, description="windows this room's scene has been updated by")
    topic: Count = Field(0, description="topics the talk has moved through: a new one when little of the "
                       "current topic's elements is still talked about")
    elements: tuple[SceneElement, ...] = Field((), max_length=MAX_ELEMENTS)
    left: tuple[Annotated[str, Field(max_length=32)], ...] = Field(
        (), max_length=MAX_ELEMENTS, description="ids of the elements that left in this window")
    place: Place = "outdoors"
    time_of_day: TimeOfDay = "day"
    weather: Weather = "clear"
    mood: str = Field("neutral", max_length=64)
    valence: float = Field(0.0, ge=-1.0, le=1.0, description="sentiment, smoothed over windows")
    energy: Fraction = Field(0.5, description="how lively the talk is, smoothed over windows")

    def ranked(self) -> list[SceneElement]:
        """Elements by weight, heaviest first (ties by id, so the order is stable)."""
        return sorted(self.elements, key=lambda e: (-e.weight, e.id))
