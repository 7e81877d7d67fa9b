"""The README documents every hook under a heading that is its signature."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from playground import hookspecs

README = (Path(__file__).parent.parent / "README.md").read_text()


def hooks() -> list[str]:
    return [
        name
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, "playground_spec")
    ]


def test_every_hook_is_documented_with_its_signature():
    assert hooks() == [
        "register_commands",
        "register_concepts",
        "register_exercises",
        "register_models",
    ]
    for name in hooks():
        params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        heading = f"### {name}({params})"
        assert re.search(rf"^{re.escape(heading)}\s*$", README, re.M), f"README lacks {heading!r}"


def test_the_readme_opens_with_the_two_commands_and_ci_runs_the_second():
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", README, re.S)
    assert len(blocks) >= 2
    start, test = blocks[0].strip(), blocks[1].strip()
    assert "pip install" in start and start.rstrip().endswith("playground")
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert test.splitlines()[-1] in ci, "CI must run the README's test command"
    first_heading = README.index("\n## ")
    assert README.index(test) < first_heading  # nothing comes before the two commands
