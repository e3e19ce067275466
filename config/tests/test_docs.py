"""The README is a short door into docs/: every relative link in README and docs/ resolves, to a file and a heading."""

import re
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
README = BASE_DIR / "README.md"
DOCS = BASE_DIR / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
# The pages the README sends a newcomer to.
DOOR = ["running.md", "ops-desk.md", "importing.md", "api.md", "reliability-and-security.md", "speed-and-scale.md",
        "development.md"]
MARKDOWN_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)|<(?:img|a)\s[^>]*(?:src|href)=\"([^\"]+)\"")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|<[^>]+>", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found, seen = set(), {}
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", FENCE.sub("", page.read_text(encoding="utf-8")), re.M):
        base = slug(heading)
        found.add(base if base not in seen else f"{base}-{seen[base]}")
        seen[base] = seen.get(base, 0) + 1
    return found


def links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return [next(group for group in match.groups() if group) for match in MARKDOWN_LINK.finditer(text)]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(BASE_DIR)))
def test_every_relative_link_resolves_to_a_file_and_its_heading(page):
    broken = []
    for link in links(page):
        if re.match(r"^[a-z]+:", link):  # http://127.0.0.1:8000/…, mailto: — not a file of the repo
            continue
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists():
            broken.append(f"{link}: no file {path.relative_to(BASE_DIR) if BASE_DIR in path.parents else path}")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{link}: no heading #{anchor} in {path.relative_to(BASE_DIR)}")
    assert broken == []


def test_the_readme_is_a_short_door_into_the_docs():
    lines = README.read_text(encoding="utf-8").splitlines()
    opening = "\n".join(lines[:40])

    assert len(lines) <= 150, f"README.md has {len(lines)} lines"
    assert "make run" in opening and "make test" in opening
    linked = {Path(link.partition("#")[0]).name for link in links(README) if link.startswith("docs/")}
    assert [page for page in DOOR if page not in linked] == []
    assert [page for page in DOOR if not (DOCS / page).exists()] == []


def test_no_section_is_written_twice():
    for page in PAGES:
        headings = re.findall(r"^#{1,3}\s+(.+?)\s*$", FENCE.sub("", page.read_text(encoding="utf-8")), re.M)
        assert sorted({h for h in headings if headings.count(h) > 1}) == [], page.name
