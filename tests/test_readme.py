"""The README's code examples run as written, and print what the README says they print."""
import contextlib
import io
import os
import re

import pytest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def code_under(heading):
    """The first ```python block after the line `heading` in the README."""
    text = open(README, encoding="utf-8").read()
    start = text.index(heading + "\n")
    return re.search(r"```python\n(.*?)```", text[start:], re.S).group(1)


@pytest.mark.parametrize("heading", ["## Checking gradients, yours included",
                                     "### How the penalty's gradient reaches the critic's weights"])
def test_a_readme_example_runs_and_prints_what_its_comments_say(heading):
    code = code_under(heading)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, f"README.md: {heading}", "exec"), {})
    said = [line.split("# ", 1)[1].split(":")[0].strip() for line in code.splitlines()
            if line.startswith("print(") and "# " in line]
    assert printed.getvalue().split("\n")[:len(said)] == said
