"""The averaged generator: its update and warm-up by hand, its batch-norm statistics, and the main job's use
of it (training untouched, resumed exactly, picked by sample and eval)."""
import csv
import subprocess
import sys

import numpy
import pytest

import minigan
from minigan import checkpoint, gan, nn
from tests.test_main_job import ROOT, SMALL


def _weights(model):
    return [p.numpy().copy() for p in model.parameters()]


def test_the_average_follows_the_formula_with_its_warm_up():
    minigan.manual_seed(0)
    G = gan.MLPGenerator(nz=3, hidden=(4,))
    averaged = gan.AveragedGenerator(G, lambda: gan.MLPGenerator(nz=3, hidden=(4,)), decay=0.5)
    expected = _weights(G)                         # the average starts as G's weights
    assert all(numpy.array_equal(a, e) for a, e in zip(_weights(averaged.average), expected))
    rng = numpy.random.default_rng(1)
    for t in range(12):
        for p in G.parameters():                   # a generator step moves G's weights
            p.data[...] = rng.standard_normal(p.shape)
        beta = min(0.5, (1 + t) / (10 + t))        # 0.1, 0.18, 0.25, ... then the decay 0.5 from t = 8 on
        assert averaged.beta() == pytest.approx(beta)
        expected = [beta * e + (1 - beta) * w for e, w in zip(expected, _weights(G))]
        averaged.update()
        for a, e in zip(_weights(averaged.average), expected):
            numpy.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)
    assert averaged.updates == 12


def test_making_the_average_leaves_the_random_stream_alone():
    minigan.manual_seed(0)
    G = gan.MLPGenerator(nz=3)
    expected = minigan.randn(5).numpy()
    minigan.manual_seed(0)
    G = gan.MLPGenerator(nz=3)
    gan.AveragedGenerator(G, lambda: gan.MLPGenerator(nz=3), 0.99)
    assert numpy.array_equal(minigan.randn(5).numpy(), expected)


def test_a_decay_outside_0_1_is_refused():
    G = gan.MLPGenerator(nz=3)
    for decay in (0.0, 1.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="decay must be in \\(0, 1\\)"):
            gan.AveragedGenerator(G, lambda: gan.MLPGenerator(nz=3), decay)


def test_batch_norm_statistics_are_recomputed_as_plain_averages_over_the_batches():
    minigan.manual_seed(0)
    G = gan.DCGANGenerator(nz=5, ngf=2)
    norm = next(m for m in G.modules() if isinstance(m, nn.BatchNorm2d))
    means, variances = [], []

    def record(module, x):   # the statistics of each batch that reaches the first batch norm, by hand
        values = x.numpy().transpose(1, 0, 2, 3).reshape(x.shape[1], -1)
        means.append(values.mean(1))
        variances.append(values.var(1, ddof=1))
    original = norm.forward
    norm.forward = lambda x: (record(norm, x), original(x))[1]
    gan.recompute_batch_norm(G, 5, seed=7, batches=3, batch_size=8)
    assert len(means) == 3 and not G.training and norm.momentum == 0.1
    numpy.testing.assert_allclose(norm.running_mean.numpy(), numpy.mean(means, 0), rtol=1e-4, atol=1e-6)
    numpy.testing.assert_allclose(norm.running_var.numpy(), numpy.mean(variances, 0), rtol=1e-4, atol=1e-6)


def test_the_statistics_of_a_conditional_generator_come_from_the_classes_it_was_trained_on():
    """A folder of three classes trains labels 0-2 only; the statistics came from all ten labels before."""
    G = gan.DCGANGenerator(nz=5, ngf=2, conditional=True)
    seen = []
    original = G.forward
    G.forward = lambda z, labels: (seen.append(labels.numpy()), original(z, labels))[1]
    gan.recompute_batch_norm(G, 5, seed=7, batches=2, batch_size=8, classes=3)
    assert [list(labels) for labels in seen] == [[0, 1, 2, 0, 1, 2, 0, 1]] * 2
    config = gan.default_config(conditional=True, classes=3)
    assert list(gan.class_labels(7, config)) == [0, 1, 2, 0, 1, 2, 0]
    assert gan.class_labels(7, gan.default_config()) is None
    for classes in (1, 11, 2.0, True):
        with pytest.raises(ValueError, match=f"classes must be a whole number from 2 to 10, got {classes!r}"):
            gan.build_models(gan.default_config(classes=classes))



def test_a_models_classes_are_named_by_its_config_or_else_as_digits():
    config = gan.default_config(conditional=True, classes=3)
    assert gan.class_names(config) == ["0", "1", "2"]   # a checkpoint of an earlier version: the digits
    config["class_names"] = ["cats", "dogs", ""]         # "": the pictures directly in the folder
    assert gan.class_names(config) == ["cats", "dogs", ""] and gan.build_models(config)
    for names in (["cats", "dogs"], ["cats", "cats", "dogs"], "cats", ["cats", 2, "dogs"], ["x" * 256, "a", "b"]):
        config["class_names"] = names
        with pytest.raises(ValueError, match="class_names must be 3 different names"):
            gan.build_models(config)


def _figures(path):
    with open(path) as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


def test_keeping_an_average_leaves_the_training_itself_unchanged(example, tmp_path):
    assert example.main(SMALL + ["--steps", "4", "--out", str(tmp_path / "plain")]) == 0
    assert example.main(SMALL + ["--steps", "4", "--ema", "0.9", "--out", str(tmp_path / "averaged")]) == 0
    assert _figures(tmp_path / "plain" / "log.csv") == _figures(tmp_path / "averaged" / "log.csv")
    for name in ("samples_4.png", "samples_raw_4.png"):
        assert (tmp_path / "averaged" / name).exists()


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "minigan", *args], capture_output=True, text=True, cwd=ROOT)


def test_sample_and_eval_use_the_generator_the_flag_names(example, tmp_path):
    assert example.main(SMALL + ["--steps", "4", "--ema", "0.5", "--out", str(tmp_path)]) == 0
    ck = str(tmp_path / "checkpoint.npz")
    state = checkpoint.load(ck)
    z = numpy.random.default_rng(0).standard_normal((6, 8))
    expected = {}
    for which, weights in (("raw", state["G"]), ("averaged", state["G_avg"]["model"])):
        G, _ = gan.build_models(state["config"])
        G.load_state_dict(weights)
        expected[which] = gan.to_pixels(gan.generate(G, z))
    assert not numpy.array_equal(expected["raw"], expected["averaged"])
    for flag, which in ((None, "averaged"), ("raw", "raw"), ("averaged", "averaged")):
        out = str(tmp_path / f"{flag}.npy")
        result = _cli("sample", "--checkpoint", ck, "--n", "6", "--npy", out,
                      *(["--generator", flag] if flag else []))
        assert result.returncode == 0, result.stderr
        assert numpy.array_equal(numpy.load(out), expected[which]), flag
        scored = _cli("eval", "--checkpoint", ck, "--n", "50", *(["--generator", flag] if flag else []))
        assert scored.returncode == 0 and f"scoring the {which} generator" in scored.stdout, scored.stderr


def test_an_average_asked_of_a_run_that_kept_none_is_refused(example, tmp_path):
    assert example.main(SMALL + ["--steps", "2", "--out", str(tmp_path)]) == 0
    ck = str(tmp_path / "checkpoint.npz")
    result = _cli("sample", "--checkpoint", ck, "--generator", "averaged")
    assert result.returncode == 1 and "kept no averaged generator" in result.stderr
    with pytest.raises(SystemExit, match="--ema 0.9 contradicts the resumed run's 0.0"):
        example.main(SMALL + ["--steps", "4", "--ema", "0.9", "--out", str(tmp_path), "--resume", ck])
    with pytest.raises(SystemExit):
        example.parse_args(["--ema", "1.0"])


def test_the_final_scores_are_printed_beside_the_reference(example, tmp_path, capsys):
    flags = [f for f in SMALL if f != "--no-final-score"]
    assert example.main(flags + ["--steps", "2", "--ema", "0.9", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "scores of the averaged generator at step 2, 10,000 samples: Frechet distance" in out
    assert f"PyTorch's reference recipe, 2,000 steps of 64: {example.REFERENCE_FRECHET}" in out


def test_the_statistics_are_recomputed_only_after_the_weights_moved(monkeypatch):
    minigan.manual_seed(0)
    G = gan.DCGANGenerator(nz=5, ngf=2)
    averaged = gan.AveragedGenerator(G, lambda: gan.DCGANGenerator(nz=5, ngf=2), 0.9)
    calls = []
    monkeypatch.setattr(gan.averaging, "recompute_batch_norm", lambda model, *a, **k: calls.append(model))
    averaged.with_statistics(5, seed=1)
    averaged.with_statistics(5, seed=1)        # a grid and a score at the same step: one recomputation
    assert calls == [averaged.average]
    averaged.update()
    averaged.with_statistics(5, seed=2)
    assert len(calls) == 2
