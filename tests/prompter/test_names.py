"""The person-name heuristic: names are kept out of pictures, the words that look like names are not."""

from __future__ import annotations

import pytest

from services.prompter.engines.lexical import LexicalSelector
from services.prompter.engines.names import person_names


@pytest.mark.parametrize(("line", "names"), [
    ("For Emma's birthday we baked a chocolate cake.", {"emma"}),
    ("My brother Daniel fell off his snowboard twice.", {"daniel"}),
    ("The keeper still lives there, her name is Margaret.", {"margaret"}),
    ("I used the tomatoes from my neighbor, Arlyberg.", {"arlyberg"}),  # unknown, but introduced as a person
    ("Then Mr. Okonkwo showed us the boat.", {"okonkwo"}),
    ("We drove out of Reykjavik to see the aurora.", set()),  # places stay
    ("Rose bushes grew along the fence.", set()),  # a thing at the start of a sentence
    ("We got up at dawn to pick holly and a rose.", set()),  # lower case is never a name
    ("Lily must have loved that.", {"lily"}),  # a flower's name as the subject of a verb: a person
    ("Then we took Lily to the zoo.", {"lily"}),  # a thing capitalised mid-sentence is someone's name
    ("A whole crate. The Beatles, ABBA, all sorts.", {"beatles"}),  # a plural proper noun: a band, a family
    ("Lilies grew by the pond and the lily pads floated.", set()),  # things, not names
    ("We flew to London and saw the palace.", set()),  # a place
])
def test_who_counts_as_a_person(line: str, names: set[str]) -> None:
    assert person_names([line]) == names


def test_names_never_become_keywords() -> None:
    lines = ["Oliver brought a huge pumpkin to the party.", "Oliver carved the pumpkin into a lantern.",
             "Everyone said Oliver made the best pumpkin lantern, and Sophie lit the candle inside."]
    selection = LexicalSelector().select(lines)
    chosen = " ".join(k.text.lower() for k in selection.keywords)
    assert "pumpkin" in chosen and "oliver" not in chosen and "sophie" not in chosen
    assert selection.removed["name"] >= 4
