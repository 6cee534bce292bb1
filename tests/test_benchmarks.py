"""The benchmarks race like against like: PyTorch's players of other sizes are twins of minigan's, and the
step's GFLOP count is the reference recipe's hand count; a flag out of range is one line."""
import os
import subprocess
import sys

import pytest

from minigan import gan
from tests.support import import_torch

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCHMARKS)
import bench_step  # noqa: E402
import torch_reference  # noqa: E402


def test_the_step_gflop_of_the_reference_recipe_is_its_hand_count():
    def conv(c_in, c_out, k, pixels):
        return 2 * c_in * c_out * k * k * pixels * 64
    g = [conv(100, 256, 7, 1), conv(256, 128, 4, 49), conv(128, 1, 4, 196)]       # transposed: input pixels
    d = [conv(1, 64, 4, 196), conv(64, 128, 4, 49), conv(128, 1, 7, 1)]
    by_hand = (sum(g) + 2 * sum(d) + 2 * (d[1] + d[2]) + 2 * sum(d) + 2 * sum(d) + (g[1] + g[2]) + sum(g)) / 1e9
    assert bench_step.step_gflop(64) == pytest.approx(by_hand, rel=1e-12)


@pytest.mark.parametrize("size,channels", [(32, 3), (64, 3)])
def test_pytorchs_players_of_other_sizes_are_twins_of_minigans(size, channels):
    torch = import_torch()
    G, D = gan.build_models(gan.default_config(image_size=size, channels=channels))
    tG, tD, _, _ = torch_reference.build_sized("cpu", 0, size, channels)
    assert sum(p.numel() for p in tG.parameters()) == gan.count_parameters(G)
    assert sum(p.numel() for p in tD.parameters()) == gan.count_parameters(D)
    images = tG(torch.randn(2, 100, 1, 1))
    assert tuple(images.shape) == (2, channels, size, size) and tuple(tD(images).shape) == (2, 1, 1, 1)


def test_the_benchmarks_name_the_blas_kernels_numpy_runs_and_whether_the_environment_chose_them(monkeypatch):
    """The header of each CPU benchmark names the kernels the loaded BLAS runs (what sets a machine's matmul
    speed), and says when OPENBLAS_CORETYPE named them rather than the library's own choice."""
    from threadpoolctl import threadpool_info
    import common
    blas = next(pool for pool in threadpool_info() if pool["user_api"] == "blas")
    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    plain = common.blas_kernels()
    assert f"{blas['version']}, {blas['architecture']} kernels" in plain and "OPENBLAS_CORETYPE" not in plain
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    if blas["internal_api"] == "openblas":
        assert common.blas_kernels() == plain + " (named by OPENBLAS_CORETYPE=Haswell in the environment)"
    else:
        assert common.blas_kernels() == plain


def test_the_products_share_clocks_the_products_and_puts_the_function_back():
    """The benchmarks' division of a step: the time in matrix products is part of the step's, not zero when the
    step makes products and zero when it makes none; the product function is restored afterwards."""
    import minigan
    from common import products_share
    from minigan.ops import conv
    product = conv._matmul
    x, W = minigan.randn(8, 16, 14, 14), minigan.randn(32, 16, 4, 4)
    total, products = products_share(lambda: minigan.conv2d(x, W, stride=2, padding=1), steps=3)
    assert 0 < products <= total
    assert products_share(lambda: (x * 2).sum(), steps=3)[1] == 0
    assert conv._matmul is product


def test_the_products_by_shape_count_each_kind_of_product_and_time_it_alone():
    """--products: a step of one convolution forward and backward makes three products of three shapes, one of
    each a step; each is clocked in the step and again alone, on operands of the same shapes and layouts."""
    import minigan
    from common import products_by_shape
    from minigan.ops import conv
    product = conv._matmul
    x = minigan.randn(8, 16, 14, 14)
    W = minigan.randn(32, 16, 4, 4, requires_grad=True)
    x.requires_grad = True

    def step():
        minigan.conv2d(x, W, stride=2, padding=1).sum().backward()
    rows = products_by_shape(step, steps=2, repeats=2)
    shapes = sorted((row["a"][0][1:], row["b"][0][1:]) for row in rows)
    # forward W (32, 256) @ columns (256, 392); input gradient W^T (256, 32) @ gy (32, 392); weight gradient
    # gy (32, 392) @ columns^T (392, 256): 392 = 7 x 7 output pixels x 8 images, 256 = 16 channels x 4 x 4
    assert shapes == sorted([((32, 256), (256, 392)), ((256, 32), (32, 392)), ((32, 392), (392, 256))])
    assert all(row["calls"] == 1 and row["ms"] > 0 and row["gflops"] > 0 and row["alone_gflops"] > 0 for row in rows)
    try:
        import torch  # noqa: F401
    except ImportError:
        assert all("torch_gflops" not in row for row in rows)
    else:
        assert all(row["torch_gflops"] > 0 for row in rows)
    weight_gradient = next(row for row in rows if row["a"][0][1:] == (32, 392))
    assert weight_gradient["b"][1] == "F"   # the columns, transposed: a view, not a copy
    assert conv._matmul is product


@pytest.mark.parametrize("script, flags, message", [
    ("bench_step.py", ["--batch-sizes", "64", "0"], "--batch-sizes must be at least 1, got 0"),
    ("bench_step.py", ["--batch-sizes", "20000"], "--batch-sizes 20000 is more than the 10,000 images it draws from"),
    ("bench_step.py", ["--image-size", "64", "--channels", "3", "--batch-sizes", "2000"],
     "--batch-sizes 2000 is more than the 1,024 images it draws from"),
    ("bench_step.py", ["--device", "cuda", "--products"],
     "--products lists the CPU's matrix products; leave it out with --device cuda"),
    ("bench_penalty.py", ["--batch-size", "-1"], "--batch-size must be at least 1, got -1"),
    ("bench_conv.py", ["--repeats", "0"], "--repeats must be at least 1, got 0"),
    ("bench_engine.py", ["--length", "0"], "--length must be at least 1, got 0"),
    ("bench_threads.py", ["--batch-sizes", "0"], "--batch-sizes must be at least 1, got 0"),
    ("bench_import_order.py", ["--rounds", "0"], "--rounds must be at least 1, got 0"),
    ("quality_vs_torch.py", ["--seeds", "0", "-1"], "--seeds must be 0 or more, got -1"),
    ("quality_vs_torch.py", ["--ema", "0.99", "1"], "--ema: each decay must be between 0 and 1, got 0.99 1.0"),
    ("quality_vs_torch.py", ["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    ("quality_vs_torch.py", ["--batch-size", "20000"], "--batch-size 20000 is more than the 10,000 images it draws from"),
    ("quality_vs_torch.py", ["--torch-steps", "0"], "--torch-steps must be at least 1, got 0"),
    ("plot_quality.py", ["none.json", "x.png"], "none.json: not the quality.json of quality_vs_torch.py"),
    ("plot_quality.py", [os.path.join(BENCHMARKS, "results_step_cuda.json"), "x.png"],
     f"{os.path.join(BENCHMARKS, 'results_step_cuda.json')}: not the quality.json of quality_vs_torch.py (it has no 'curve')"),
    ("plot_quality.py", [os.path.join(BENCHMARKS, "results_quality_cpu.json"), "curve.txt"],
     "out curve.txt: a picture's name must end in one of .png, .jpg, .jpeg, .pdf, .svg"),
    ("plot_quality.py", [os.path.join(BENCHMARKS, "results_quality_cpu.json"), "no/curve.png"],
     "out no/curve.png: there is no folder no"),
])
def test_a_benchmark_refuses_a_flag_out_of_range_in_one_line(script, flags, message, tmp_path):
    """Each was a traceback from deep inside the run (NumPy's, PyTorch's, statistics' median of nothing)."""
    result = subprocess.run([sys.executable, os.path.join(BENCHMARKS, script), *flags], capture_output=True,
                            text=True, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.splitlines()[-1].startswith(f"{script}: error: {message}")


@pytest.mark.parametrize("script", ["bench_step.py", "quality_vs_torch.py"])
def test_a_benchmark_on_a_gpu_this_machine_lacks_says_so_in_one_line(script, tmp_path):
    """--device cuda without CuPy was a traceback from the first tensor made; quality_vs_torch had already made
    its output folder."""
    import minigan
    if minigan.gpu_available():
        pytest.skip("a GPU is present here")
    flags = ["--device", "cuda"] + (["--out", "quality"] if script == "quality_vs_torch.py" else [])
    result = subprocess.run([sys.executable, os.path.join(BENCHMARKS, script), *flags], capture_output=True,
                            text=True, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.splitlines()[-1].startswith(f"{script}: error: device 'cuda'")
    assert os.listdir(tmp_path) == []


def test_the_import_order_benchmark_times_each_kind_of_process(tmp_path):
    result = subprocess.run([sys.executable, os.path.join(BENCHMARKS, "bench_import_order.py"), "--batch-size", "4",
                             "--steps", "2", "--rounds", "1"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()[-2:]
    assert header.split()[1:] == ["minigan", "first", "NumPy", "first", "NumPy", "first,", "spin"]
    assert row.split()[0] == "1" and len(row.split()) == 4 and all(float(ms) > 0 for ms in row.split()[1:])


def run_without_torch(script, flags, folder):
    """PyTorch is a rival, not a dependency: a `torch` that cannot be imported, first on the path, stands in for a
    machine without it."""
    (folder / "torch.py").write_text("raise ImportError('No module named torch')\n")
    return subprocess.run([sys.executable, os.path.join(BENCHMARKS, script), *flags], capture_output=True, text=True,
                          cwd=folder, env={**os.environ, "PYTHONPATH": str(folder)})


@pytest.mark.parametrize("script, flags", [
    ("bench_step.py", ["--batch-sizes", "8", "--repeats", "2", "--no-memory"]),
    ("bench_penalty.py", ["--batch-size", "4", "--repeats", "2"]),
    ("bench_conv.py", ["--batch-size", "2", "--repeats", "1"]),
    ("bench_engine.py", ["--length", "20", "--repeats", "2"]),
])
def test_a_benchmark_times_minigan_alone_where_pytorch_is_not_installed(script, flags, tmp_path):
    result = run_without_torch(script, flags, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "PyTorch is not installed: timing minigan alone" in result.stdout and "nan" not in result.stdout


def test_the_quality_race_says_at_once_that_it_needs_pytorch(tmp_path):
    result = run_without_torch("quality_vs_torch.py", ["--steps", "1"], tmp_path)
    assert result.returncode == 2 and result.stderr.splitlines()[-1] == (
        "quality_vs_torch.py: error: PyTorch is not installed: pip install torch for the comparison, "
        "or pass --no-torch")
    assert not (tmp_path / "quality").exists()   # nothing trained, nothing written
