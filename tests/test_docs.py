"""The README and the docs site: the README stays short and its links lead somewhere, the site builds with
`mkdocs build --strict` (a broken link or anchor fails it), its reference pages are filled from the code, and no
page quotes a price, a test count or a timing by hand."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml
from markdown.extensions.toc import slugify

pytestmark = pytest.mark.tier("unit")

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_LINE_BUDGET = 200
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def load_hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def anchors(page: Path) -> set[str]:
    """The ids MkDocs gives the page's headings (the toc extension's default slugify)."""
    in_code, found = False, set()
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            found.add(slugify(line.lstrip("#").strip().replace("`", ""), "-"))
    return found


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.name}")
    return broken


def test_the_readme_stays_under_its_line_budget():
    lines = len(README.read_text().splitlines())
    assert lines < README_LINE_BUDGET, f"README.md has {lines} lines; move detail into docs/"


def test_every_link_of_the_readme_leads_to_a_file_and_heading_that_exist():
    assert LINK.findall(README.read_text()), "the README links into the docs"
    assert broken_links(README) == []


def test_the_link_check_sees_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "page.md").write_text("# Title\n\n## Real heading\n")
    readme = tmp_path / "README.md"
    readme.write_text("[a](page.md#real-heading) [b](gone.md) [c](page.md#no-such) [d](https://example.com/x)\n")
    assert [problem.split(":")[0] for problem in broken_links(readme)] == ["gone.md", "page.md#no-such"]


# Figures that go stale when copied by hand: prices, test counts, timings of the suite or a command.
HAND_COPIED = re.compile(r"\$\d|\b\d+ (tests|passed)\b|\b(about|takes|under|in) \d+(\.\d+)? ?(s|seconds|min|minutes)\b")


def test_no_page_quotes_a_price_a_test_count_or_a_timing():
    quoted = [f"{page.relative_to(ROOT)}:{n}: {line.strip()}"
              for page in [README, *sorted(DOCS.rglob("*.md"))]
              for n, line in enumerate(page.read_text().splitlines(), 1) if HAND_COPIED.search(line)]
    assert quoted == [], "generate these or say where to get them (make bench, python -m automation stack cost)"


def test_the_figure_check_sees_prices_counts_and_timings():
    for line in ("prod $412.91 a month", "711 tests", "make test takes about 160 s", "in 1.5 seconds"):
        assert HAND_COPIED.search(line), line
    assert not HAND_COPIED.search("Exit 3: could not check; a 1-minute minimum per Glue run")


def test_an_unknown_generated_section_fails_the_build():
    from mkdocs.exceptions import PluginError

    hooks = load_hooks()
    with pytest.raises(PluginError, match="unknown generated section 'exit-code'"):
        hooks.render("# Page\n\n<!-- generated: exit-code -->\n")


def build(config: Path | dict, site: Path) -> None:
    """`mkdocs build --strict` in this process (the project's modules the hook imports are mostly loaded already);
    raises mkdocs' Abort when a warning or error stops it."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    if isinstance(config, dict):
        path = site.parent / "mkdocs.yml"
        path.write_text(yaml.safe_dump(config))
        config = path
    mkdocs_build(load_config(str(config), strict=True, site_dir=str(site)))


@pytest.mark.slow
def test_the_site_builds_strict_with_its_reference_pages_generated_from_the_code(tmp_path):
    from automation import exit_codes
    from policies.guardrails import ALL_POLICIES

    build(ROOT / "mkdocs.yml", tmp_path / "site")
    reference = {page: (tmp_path / "site" / "reference" / page / "index.html").read_text()
                 for page in ("exit-codes", "cli", "configuration", "policies")}
    assert all(f"<code>{code}</code>" in reference["exit-codes"] for code, _ in exit_codes.TABLE)
    assert all(f"<code>{p.name}</code>" in reference["policies"] for p in ALL_POLICIES)
    from automation.cli import RENAMED, every_command
    from settings.schema import STACK_FIELDS

    assert all(f"<code>{key}</code>" in reference["configuration"] for key in STACK_FIELDS)
    assert reference["cli"].count("usage: python -m automation") == len(every_command())
    assert RENAMED and all(f"<code>{old}</code>" in reference["cli"] for old in RENAMED)
    assert "<!-- generated:" not in "".join(reference.values())


def test_the_site_config_makes_a_broken_anchor_fail_the_strict_build(tmp_path):
    """mkdocs.yml's own settings, on two small pages, one linking to a heading the other lacks: --strict refuses it,
    and accepts the same pages once the link is right."""
    from mkdocs.exceptions import Abort

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    for key in ("hooks", "nav", "exclude_docs"):
        config.pop(key)
    docs = tmp_path / "docs"
    docs.mkdir()
    config["docs_dir"] = str(docs)
    (docs / "target.md").write_text("# Target\n\n## Real heading\n")
    (docs / "index.md").write_text("# Home\n\n[gone](target.md#no-such-heading)\n")
    with pytest.raises(Abort, match="strict"):
        build(config, tmp_path / "site")
    (docs / "index.md").write_text("# Home\n\n[there](target.md#real-heading)\n")
    build(config, tmp_path / "site")
