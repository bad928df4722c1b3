"""The docs say what the code does: the README's API table names every route, the architecture names every
transient message, and nothing cites a file the repository does not have or speaks of the project's history."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

from shared.bus._wire import _TRANSIENT
from shared.messages import Envelope
from tests.support import display_routes

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")), *sorted((REPO / "deploy").rglob("*.md"))]
_PATH = re.compile(r"(/(?:api|images|healthz|metrics|openapi|ws)\b(?:\{[^}]*\}|[^\s`?,|)])*)")


def _shape(path: str) -> str:
    """A route's path with its parameters unnamed: `/images/{id}` and `/images/{image_id}` are one route."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _envelopes(cls: type[Envelope] = Envelope) -> list[type[Envelope]]:
    return [c for sub in cls.__subclasses__() for c in (sub, *_envelopes(sub))]


def test_the_readme_api_table_names_every_route_of_the_display(tmp_path: Path) -> None:
    from services.display.mics import mic_socket
    from services.display.web import api, sockets

    routes = {_shape(r.path) for r in display_routes(tmp_path, api, sockets, mic_socket) if hasattr(r, "path")}
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("## JSON API"):]
    table = table[:table.index("\n## ", 1)]
    named = {_shape(p) for p in _PATH.findall(table)}
    assert routes - named == set(), "routes missing from the README's API table"


def test_the_architecture_names_every_transient_message() -> None:
    text = (REPO / "docs" / "ARCHITECTURE.md").read_text()
    publishing = text[text.index("- **Publishing**"):]
    publishing = publishing[:publishing.index("\n- **", 1)]
    transient = {c.__name__ for c in _envelopes() if getattr(c, "KIND", None) in _TRANSIENT}
    assert transient and transient <= set(re.findall(r"`(\w+)`", publishing))


def test_no_file_cites_a_notes_file_the_repository_lacks() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    citing = [f for f in tracked if not f.endswith((".png", ".jpg")) and f != "tests/test_docs.py"
              and "NOTES.md" in (REPO / f).read_text(errors="ignore")]
    assert "NOTES.md" in {Path(f).name for f in tracked} or not citing, citing


def test_the_docs_speak_to_the_reader_not_of_the_projects_history() -> None:
    history = re.compile(r"\b(the issue|issue \d+|before this design|used to be)\b|\b20\d\d-\d\d-\d\d\b",
                         re.IGNORECASE)
    found = [f"{doc.relative_to(REPO)}: {m.group(0)}" for doc in DOCS for m in history.finditer(doc.read_text())]
    assert not found


def _defines(tree: ast.Module, dotted: str) -> bool:
    """Whether a module defines `dotted` at its top level: a function, class or assignment, or `Class.member`."""
    body: list[ast.stmt] = tree.body
    for part in dotted.split("."):
        found = [node for node in body if part in _names(node)]
        if not found:
            return False
        body = found[0].body if isinstance(found[0], ast.ClassDef) else []
    return True


def _names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return {t.id for t in targets if isinstance(t, ast.Name)}


def _where_things_are() -> list[tuple[str, list[str]]]:
    """The architecture's "where things are" table: (question, the backticked paths and names that answer it)."""
    text = (REPO / "docs" / "ARCHITECTURE.md").read_text()
    section = text[text.index("## Where things are"):]
    section = section[:section.index("\n## ", 1)]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| ") and "`" in line]
    return [(question.strip(), re.findall(r"`([^`]+)`", answer)) for question, answer in rows]


def test_where_things_are_names_files_and_symbols_that_exist() -> None:
    rows = _where_things_are()
    questions = " ".join(question for question, _ in rows).lower()
    for asked in ("window decided", "upload refused", "frame get its size", "room's scene kept"):
        assert asked in questions, f"the table does not answer {asked!r}"
    missing = []
    for question, answer in rows:
        module: ast.Module | None = None
        for token in answer:
            if token.startswith("/"):  # a route the display serves, not a file
                continue
            if "/" in token:
                path = REPO / token
                if not path.exists():
                    missing.append(f"{question} {token}")
                module = ast.parse(path.read_text()) if path.suffix == ".py" and path.exists() else None
            elif module is not None and not _defines(module, token):
                missing.append(f"{question} {token}")
    assert not missing, missing
