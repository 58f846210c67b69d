"""Set the image tag an overlay deploys: the one line CI changes on a release.

    python deploy/bump_image.py production 1.4.2     # or: python -m deploy.bump_image ...

Edits the `newTag:` line of deploy/rendered/overlays/<env>/kustomization.yaml in
place and nothing else (re-rendering keeps the tag). Standard library only, so CI
can run it with any Python 3. Commit the change; Argo CD deploys it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

OVERLAYS = Path(__file__).resolve().parent / "rendered" / "overlays"
# Docker's tag grammar.
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
LINE = re.compile(r'^(?P<indent>\s+)newTag: "(?P<tag>[^"]*)"$')


def bump(kustomization: Path, tag: str) -> str:
    """Write ``tag`` into ``kustomization``; return the previous tag."""
    if not TAG.match(tag):
        raise ValueError(f"not a valid image tag: {tag!r}")
    lines = kustomization.read_text().splitlines(keepends=True)
    found = [i for i, line in enumerate(lines) if LINE.match(line.rstrip("\n"))]
    if len(found) != 1:
        raise ValueError(f"{kustomization}: expected exactly one newTag line, found {len(found)}")
    (index,) = found
    match = LINE.match(lines[index].rstrip("\n"))
    assert match
    lines[index] = f'{match["indent"]}newTag: "{tag}"\n'
    kustomization.write_text("".join(lines))
    return match["tag"]


def main(argv: list[str], overlays: Path = OVERLAYS) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    env, tag = argv
    path = overlays / env / "kustomization.yaml"
    if not path.is_file():
        known = sorted(p.name for p in overlays.iterdir()) if overlays.is_dir() else []
        print(f"bump_image: no overlay {env!r} (known: {', '.join(known)})", file=sys.stderr)
        return 2
    try:
        previous = bump(path, tag)
    except ValueError as exc:
        print(f"bump_image: {exc}", file=sys.stderr)
        return 1
    print(f"bump_image: {env}: {previous} -> {tag}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
