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


def env_with_timeout(value=None):
    """This process's environment with OPENBLAS_THREAD_TIMEOUT as a user would have chosen it: `value`, or unset."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if value is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = value
    return env


@pytest.mark.parametrize("preset, expected", [(None, "4"), ("12", "12")])
def test_importing_minigan_first_lets_openblas_threads_sleep_unless_the_user_chose(preset, expected):
    env = env_with_timeout(preset)
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


# NumPy first, as a script that begins `import numpy as np`: OpenBLAS has read its environment and started its
# threads before minigan is imported. Then a product on every core, and the process's CPU time over the next 50 ms
# of sleep: a thread left spinning after the product spends it, a thread that sleeps does not.
SPIN_PROBE = ("import sys, time, numpy\n"
              "a = numpy.ones((1024, 1024), numpy.float32)\n"
              "a @ a\n"
              "import minigan\n"
              "if not minigan.machine.loaded_openblas():\n"
              "    sys.exit('no OpenBLAS')\n"
              "a @ a\n"
              "start = time.process_time()\n"
              "time.sleep(0.05)\n"
              "print(time.process_time() - start)\n")


@pytest.mark.skipif(not sys.platform.startswith("linux") or machine.num_threads() < 2,
                    reason="OpenBLAS's threads are found through Linux's /proc and spin only beside the caller")
@pytest.mark.parametrize("preset, spins", [(None, False), ("28", True)])
def test_numpy_imported_first_still_lets_openblas_threads_sleep_unless_the_user_chose(preset, spins):
    """28, OpenBLAS's own default, set by the user, is left as it is: its threads then spin as every process with
    NumPy imported first had them before minigan restarted them, and the probe sees the spin."""
    env = env_with_timeout(preset)
    done = subprocess.run([sys.executable, "-c", SPIN_PROBE], env=env, capture_output=True, text=True)
    if done.stderr.strip() == "no OpenBLAS":
        pytest.skip("NumPy here multiplies with another BLAS")
    assert done.returncode == 0, done.stderr
    seconds = float(done.stdout)
    assert seconds > 0.02 if spins else seconds < 0.01, seconds


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="OpenBLAS is found through Linux's /proc")
@pytest.mark.parametrize("other_thread", [True, False])
def test_openblas_threads_are_left_alone_where_another_thread_runs(other_thread):
    """Another thread could be in the middle of a product: shutting OpenBLAS's threads down under it could hang."""
    code = ("import threading, numpy\n"
            "stop = threading.Event()\n"
            f"if {other_thread}:\n"
            "    threading.Thread(target=stop.wait).start()\n"
            "import minigan\n"
            "print(bool(minigan.machine.loaded_openblas()), minigan.machine.OPENBLAS_RESTARTED)\n"
            "stop.set()\n")
    done = subprocess.run([sys.executable, "-c", code], env=env_with_timeout(), capture_output=True, text=True,
                          check=True)
    found, restarted = done.stdout.split()
    if found == "False":
        pytest.skip("NumPy here multiplies with another BLAS")
    assert restarted == str(not other_thread)
    warned = [line for line in done.stderr.splitlines() if "RuntimeWarning" in line]
    if other_thread:
        assert len(warned) == 1 and "import minigan before NumPy, or set OPENBLAS_THREAD_TIMEOUT=4" in warned[0]
    else:
        assert warned == []


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
