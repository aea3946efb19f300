"""The docs site (mkdocs.yml, built by ``tox -e docs`` with ``mkdocs build --strict``) lists
every page of docs/, so none is left out of the navigation."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_page_is_in_the_nav() -> None:
    nav = set(re.findall(r":\s*([\w-]+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.M))
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert pages - nav == set(), "add these pages to mkdocs.yml's nav"
    assert nav - pages == set(), "mkdocs.yml names pages that do not exist"


_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LINK = re.compile(r"\]\(([\w-]*\.md)?#([^)\s]+)\)")


def _slug(text: str) -> str:
    """Python-Markdown's toc slug (what ``mkdocs build --strict`` checks anchors against),
    of the heading as rendered: code spans, emphasis and link targets dropped."""
    import unicodedata

    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).replace("`", "").replace("*", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(page: Path) -> set[str]:
    out: set[str] = set()
    fenced = False
    for line in page.read_text().splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (m := _HEADING.match(line)):
            slug = _slug(m.group(2))
            n, unique = 0, slug
            while unique in out:  # a repeated heading gets _1, _2... as in toc
                n += 1
                unique = f"{slug}_{n}"
            out.add(unique)
    return out


def test_every_anchor_link_names_a_heading() -> None:
    # mkdocs build --strict (tox -e docs) refuses a link to a missing anchor; this finds it
    # in the default suite, which does not install mkdocs.
    docs = ROOT / "docs"
    anchors = {p.name: _anchors(p) for p in docs.glob("*.md")}
    broken = [
        f"{page.name}: {target or page.name}#{anchor}"
        for page in sorted(docs.glob("*.md"))
        for target, anchor in _LINK.findall(page.read_text())
        if (target or page.name) in anchors and anchor not in anchors[target or page.name]
    ]
    assert broken == []
