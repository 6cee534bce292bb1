"""The backend's settings for the CPU: how many threads minigan's kernels use, and OpenBLAS's idle spin."""
import os
import subprocess
import sys

import pytest

from minigan import machine


@pytest.mark.parametrize("value", ["0", "two", "-1", ""])
def test_a_bad_thread_count_in_the_environment_is_named(monkeypatch, value):
    monkeypatch.setenv("MINIGAN_NUM_THREADS", value)
    with pytest.raises(ValueError, match=f"MINIGAN_NUM_THREADS must be a whole number.*got '{value}'"):
        machine.num_threads()


@pytest.mark.parametrize("name, value", [("MINIGAN_NUM_THREADS", "two"), ("MINIGAN_KEEP_FREED_MEMORY", "no")])
def test_a_bad_setting_stops_any_program_at_import_with_one_line(name, value):
    done = subprocess.run([sys.executable, "-c", "import minigan; print('imported')"], capture_output=True,
                          text=True, env={**os.environ, name: value})
    assert done.returncode == 1 and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: {name} must be ") and line.endswith(f"; got '{value}'")


def test_keeping_freed_memory_takes_0_or_1(monkeypatch):
    monkeypatch.setenv("MINIGAN_KEEP_FREED_MEMORY", "0")
    assert machine.keep_freed_memory() is False   # left alone
    monkeypatch.setenv("MINIGAN_KEEP_FREED_MEMORY", "off")
    with pytest.raises(ValueError, match="MINIGAN_KEEP_FREED_MEMORY must be 0 .* or 1; got 'off'"):
        machine.keep_freed_memory()


def test_the_thread_count_in_the_environment_is_obeyed(monkeypatch):
    monkeypatch.setenv("MINIGAN_NUM_THREADS", "3")
    assert machine.num_threads() == 3
    monkeypatch.delenv("MINIGAN_NUM_THREADS")
    assert machine.num_threads() >= 1


@pytest.mark.parametrize("preset, expected", [(None, "4"), ("12", "12")])
def test_importing_minigan_first_lets_openblas_threads_sleep_unless_the_user_chose(preset, expected):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if preset:
        env["OPENBLAS_THREAD_TIMEOUT"] = preset
    # A finder that prints the setting at the moment NumPy (and with it OpenBLAS) is first imported.
    code = ("import os, sys\n"
            "class Watch:\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name == 'numpy':\n"
            "            print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))\n"
            "            sys.meta_path.remove(self)\n"
            "sys.meta_path.insert(0, Watch())\n"
            "import minigan\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected


def test_draws_inside_random_stream_untouched_leave_no_trace():
    import minigan
    from minigan import backend
    minigan.manual_seed(3)
    expected = minigan.randn(4).numpy()
    minigan.manual_seed(3)
    with pytest.raises(RuntimeError):
        with backend.random_stream_untouched():
            minigan.randn(100)
            raise RuntimeError("a build that fails half way")
    assert (minigan.randn(4).numpy() == expected).all()


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3"])
def test_a_seed_that_is_no_whole_number_of_0_or_more_is_named(seed):
    """-1 said only 'expected non-negative integer' (NumPy's words); True seeded as 1 in silence."""
    import minigan
    with pytest.raises(ValueError, match=f"^manual_seed: the seed must be a whole number, 0 or more, got {seed!r}$"):
        minigan.manual_seed(seed)
