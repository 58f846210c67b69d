"""CI's release step: the tag bump changes one line, the overlay then deploys the
new image everywhere, and re-rendering keeps it."""

from __future__ import annotations

import difflib
import shutil
import subprocess
import sys

import pytest

from deploy import bump_image, environments, render
from deploy.environments import ENVIRONMENTS
from tests.deploy.conftest import RENDERED, ROOT, documents, kustomize, pod_templates


@pytest.fixture
def copy(tmp_path):
    target = tmp_path / "rendered"
    shutil.copytree(RENDERED, target)
    return target


def test_the_bump_changes_only_the_image_line(copy):
    path = copy / "overlays" / "production" / "kustomization.yaml"
    before = path.read_text().splitlines()
    assert bump_image.main(["production", "1.4.2"], overlays=copy / "overlays") == 0
    after = path.read_text().splitlines()
    changed = [line for line in difflib.unified_diff(before, after, lineterm="", n=0) if line[:1] in "+-"]
    changed = [line for line in changed if not line.startswith(("+++", "---"))]
    assert changed == [f'-  newTag: "{render.current_tag("production")}"', '+  newTag: "1.4.2"']
    # Staging is untouched.
    assert (copy / "overlays" / "staging" / "kustomization.yaml").read_bytes() == (
        RENDERED / "overlays" / "staging" / "kustomization.yaml"
    ).read_bytes()


def test_the_bumped_overlay_deploys_the_new_image_and_rendering_keeps_it(copy, tmp_path):
    assert bump_image.main(["production", "1.4.2"], overlays=copy / "overlays") == 0
    objects = documents(kustomize(copy / "overlays" / "production"))
    images = {c["image"] for t in pod_templates(objects).values() for c in t["spec"]["containers"]}
    assert images == {f"{environments.IMAGE}:1.4.2"}
    # Re-rendering reads the tag from the overlay: the bump is not undone.
    assert render.current_tag("production", copy) == "1.4.2"
    out = tmp_path / "again"
    render.render(out, list(ENVIRONMENTS), {n: render.current_tag(n, copy) for n in ENVIRONMENTS})
    for path in out.rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (copy / path.relative_to(out)).read_bytes(), path


@pytest.mark.parametrize("tag", ["", "1.0 ", "v1;rm", '"x"', "-dash", "a" * 129])
def test_a_malformed_tag_is_refused(copy, tag):
    path = copy / "overlays" / "production" / "kustomization.yaml"
    before = path.read_bytes()
    assert bump_image.main(["production", tag], overlays=copy / "overlays") == 1
    assert path.read_bytes() == before


def test_the_script_runs_on_a_bare_python():
    # CI may call it outside the venv: standard library only (-I: no site-packages).
    result = subprocess.run(
        [sys.executable, "-I", "deploy/bump_image.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2 and "bump_image.py" in result.stderr, result.stderr


def test_an_unknown_environment_is_refused(copy):
    assert bump_image.main(["prod", "1.0.0"], overlays=copy / "overlays") == 2
