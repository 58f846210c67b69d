"""The project documents itself: the README links to its own docs (a user of the
project has no ../shared/), and the generated references are current."""

import re
from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
DOCS = ("architecture.md", "adding-an-app.md", "api.md", "events.md", "estoque.md")


def test_the_readme_links_every_doc_and_nothing_outside_the_project():
    readme = (ROOT / "README.md").read_text()
    for doc in DOCS:
        assert f"(docs/{doc})" in readme, f"README should link docs/{doc}"
        assert (ROOT / "docs" / doc).is_file()
    assert "../shared" not in readme
    for doc in DOCS:
        assert "../shared" not in (ROOT / "docs" / doc).read_text()


def test_relative_links_in_the_docs_point_at_files_that_exist():
    for source in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+?)(?:#[^)]*)?\)", source.read_text()):
            assert (source.parent / target).exists(), f"{source.name} links {target}, which does not exist"


def test_the_api_reference_is_generated_from_the_current_schema(capsys):
    call_command("api_reference")
    generated = capsys.readouterr().out
    committed = (ROOT / "docs" / "api.md").read_text()
    assert committed == generated, "regenerate: .venv/bin/python manage.py api_reference > docs/api.md"


def test_every_operation_in_the_reference_has_a_summary(capsys):
    call_command("api_reference")
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| `")]
    assert rows
    for row in rows:
        summary = row.split("|")[3].strip()
        assert summary, f"no summary: {row}"
