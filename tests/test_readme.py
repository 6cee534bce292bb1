"""The README's code examples run as written and print what the README says they print; its calibration table
is what its script prints."""
import contextlib
import importlib.util
import io
import os
import re
import subprocess
import sys

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


CALIBRATE = os.path.join(os.path.dirname(README), "scripts", "calibrate_metrics.py")


def test_the_calibration_script_answers_help_and_refuses_flags_without_scoring_anything():
    """It took no flags and ignored them: `--help` ran the whole calibration, a minute of scoring."""
    helped = subprocess.run([sys.executable, CALIBRATE, "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: calibrate_metrics.py [-h]")
    assert "| images of ... |" not in helped.stdout
    refused = subprocess.run([sys.executable, CALIBRATE, "--seeds", "3"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.splitlines()[-1] == "calibrate_metrics.py: error: unrecognized arguments: --seeds 3"


def test_the_calibration_table_is_what_its_script_prints():
    """Row for row; each figure to within one unit of its last printed digit (another CPU's BLAS may round
    the last digit the other way)."""
    spec = importlib.util.spec_from_file_location("calibrate_metrics", CALIBRATE)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        script.main([])
    made = printed.getvalue().splitlines()
    text = open(README, encoding="utf-8").read().splitlines()
    start = text.index(made[0])
    shown = text[start:start + len(made)]
    number = re.compile(r"\d+(?:\.(\d+))?")
    for ours, theirs in zip(made, shown):
        assert number.sub("#", ours) == number.sub("#", theirs)   # the same rows, words and layout
        for a, b in zip(number.finditer(ours), number.finditer(theirs)):
            unit = 10.0 ** -len(a.group(1) or "")
            assert abs(float(a.group()) - float(b.group())) <= unit * 1.01, (ours, theirs)
