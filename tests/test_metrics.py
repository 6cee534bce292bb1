"""The metrics on inputs with known answers, and calibrated on real digits, noise and collapse."""
import json

import numpy
import pytest

from minigan import data
from minigan.metrics import (
    Evaluator, frechet_distance, gaussian, inception_score, mode_coverage, near_duplicate_rate, report)
from minigan.metrics.classifier import held_out_split, load_classifier


def test_frechet_distance_of_identical_sets_is_zero():
    x = numpy.random.default_rng(0).standard_normal((500, 6))
    assert frechet_distance(*gaussian(x), *gaussian(x)) == pytest.approx(0, abs=1e-9)


def test_frechet_distance_matches_the_closed_form_for_gaussians():
    """For N(m1, S1) and N(m2, S2) with commuting (here diagonal) covariances the distance is
    |m1 - m2|^2 + sum (sqrt(s1) - sqrt(s2))^2."""
    m1, m2 = numpy.array([0.0, 1.0, -2.0]), numpy.array([3.0, 1.0, 0.0])
    s1, s2 = numpy.array([1.0, 4.0, 0.25]), numpy.array([9.0, 1.0, 0.25])
    expected = ((m1 - m2) ** 2).sum() + ((numpy.sqrt(s1) - numpy.sqrt(s2)) ** 2).sum()
    assert frechet_distance(m1, numpy.diag(s1), m2, numpy.diag(s2)) == pytest.approx(expected, rel=1e-12)
    rotation = numpy.linalg.qr(numpy.random.default_rng(1).standard_normal((3, 3)))[0]
    rotated = [rotation @ numpy.diag(s) @ rotation.T for s in (s1, s2)]  # still commuting
    assert frechet_distance(rotation @ m1, rotated[0], rotation @ m2, rotated[1]) == pytest.approx(expected, rel=1e-9)
    rng = numpy.random.default_rng(2)
    a = rng.standard_normal((200_000, 3)) * numpy.sqrt(s1) + m1
    b = rng.standard_normal((200_000, 3)) * numpy.sqrt(s2) + m2
    assert frechet_distance(*gaussian(a), *gaussian(b)) == pytest.approx(expected, rel=0.02)


def test_inception_score_bounds_and_mode_counts():
    sure = numpy.eye(10)[numpy.arange(1000) % 10]
    assert inception_score(sure) == pytest.approx(10, rel=1e-6)
    assert inception_score(numpy.full((100, 10), 0.1)) == pytest.approx(1, rel=1e-6)
    one_class = numpy.eye(10)[numpy.zeros(300, dtype=int)]
    assert inception_score(one_class) == pytest.approx(1, rel=1e-6)
    modes, kl, histogram = mode_coverage(one_class)
    assert modes == 1 and kl == pytest.approx(numpy.log(10)) and histogram[0] == 1
    modes, kl, _ = mode_coverage(sure)
    assert modes == 10 and kl == pytest.approx(0, abs=1e-12)


def test_near_duplicates():
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((100, 4))
    assert near_duplicate_rate(x, 0.01) == 0
    doubled = numpy.concatenate([x, x[:10] + 1e-4])
    assert near_duplicate_rate(doubled, 0.01) == pytest.approx(20 / 110)


@pytest.fixture(scope="module")
def evaluator():
    return Evaluator()


def test_evaluators_of_the_shipped_classifier_share_one_read_only_view_of_the_real_digits(evaluator):
    """Embedding the 10,000 real digits takes seconds: a run with --eval-every paid it again for its final score,
    and every test that scored a run paid it once more. The shipped classifier's view is made once per process,
    read-only so that no Evaluator can change another's; a classifier of one's own gets a view of its own."""
    again = Evaluator()
    assert again.real_features is evaluator.real_features and again.classifier is evaluator.classifier
    assert not any(a.flags.writeable for a in (again.real_features, again.real_probabilities, *again.halves))
    own = Evaluator(load_classifier())
    assert own.real_features is not evaluator.real_features
    numpy.testing.assert_array_equal(own.real_features, evaluator.real_features)
    assert own.threshold == evaluator.threshold


def test_the_shipped_classifier_reaches_98_percent_on_held_out_digits():
    images, labels = data.load_embedded()
    _, held = held_out_split(len(images))
    model = load_classifier()
    from minigan.metrics import embed
    _, p = embed(model, images[held])
    assert (p.argmax(1) == labels[held]).mean() >= 0.98


def test_calibration_real_held_out_digits_score_like_real_digits(evaluator):
    images, _ = data.load_embedded()
    _, held = held_out_split(len(images))
    scores, floor = evaluator.score(images[held]), evaluator.real_floor()
    assert scores.modes == 10 and scores.class_kl < 0.02 and not scores.collapsed()
    assert scores.frechet_distance < 15 and floor.frechet_distance < 5   # 500 vs 5,000 samples: a larger bias
    assert scores.inception_score > 9


def test_calibration_noise_is_far_away(evaluator):
    noise = numpy.random.default_rng(0).integers(0, 256, (2000, 28, 28)).astype(numpy.uint8)
    scores = evaluator.score(noise)
    assert scores.frechet_distance > 100 * evaluator.real_floor().frechet_distance


def test_calibration_one_repeated_digit_is_flagged_as_collapsed(evaluator):
    images, labels = data.load_embedded()
    sevens = numpy.repeat(images[labels == 7][:1], 2000, axis=0)
    scores = evaluator.score(sevens)
    assert scores.modes == 1 and scores.collapsed() and scores.near_duplicates == 1.0
    assert "mode collapse" in report(scores, evaluator.real_floor())


def test_the_report_says_how_many_samples_the_frechet_distance_compared(evaluator):
    """It said '5,000 vs 5,000' whatever the count: a distance from 50 samples (25 against 5,000) read as one
    comparable with the README's, which come from 10,000."""
    images, _ = data.load_embedded()
    floor = evaluator.real_floor()
    few = report(evaluator.score(images[::200]), floor).splitlines()
    assert few[1].endswith("lower is better; 25 vs 5,000 (real: 5,000 vs 5,000)")
    assert few[-1].startswith("note: the Frechet distance compares 25 samples with 5,000 real digits; fewer samples "
                              "make it larger")
    full = report(evaluator.score(images), floor).splitlines()
    assert full[1].endswith("lower is better; 5,000 vs 5,000") and not any(line.startswith("note") for line in full)


def test_per_class_accuracy_for_a_conditional_model(evaluator):
    images, labels = data.load_embedded()
    picked = numpy.concatenate([numpy.flatnonzero(labels == c)[:50] for c in range(10)])
    accuracy = evaluator.class_accuracy(images[picked], labels[picked])
    assert sorted(accuracy) == list(range(10)) and min(accuracy.values()) > 0.9
    wrong = evaluator.class_accuracy(images[picked], (labels[picked] + 1) % 10)
    assert max(wrong.values()) < 0.1


def test_images_of_the_wrong_shape_or_range_are_refused(evaluator):
    for shape in ((10, 32, 32), (10, 28, 28, 1), (10, 3, 28, 28), (28, 28)):   # named as given
        with pytest.raises(ValueError, match=fr"28x28 grey images, .*; got \({', '.join(map(str, shape))}\)$"):
            evaluator.score(numpy.zeros(shape, numpy.uint8))
    with pytest.raises(ValueError, match=r"must lie in \[-1, 1\]"):
        evaluator.score(numpy.full((10, 28, 28), 3.0))
    images, _ = data.load_embedded()
    with pytest.raises(ValueError, match=r"these span \[0, 1\], as pixels in \[0, 1\] do: pass x \* 2 - 1$"):
        evaluator.score(images[:10] / 255.0)   # scored before as grey digits on grey


def test_eval_scores_a_folder_of_pictures_as_it_scores_the_same_digits_in_a_npy_file(tmp_path, capsys):
    """--png-dir: sample --png-dir's grey PNGs, and the three-equal-channel PNGs torchvision's save_image
    writes, read back to the same digits; a picture of another size or in colour is refused, not resized."""
    from PIL import Image

    from minigan import cli
    digits = data.load_embedded()[0][::33][:300]   # the embedded digits come sorted by class
    numpy.save(tmp_path / "digits.npy", digits)
    for i, digit in enumerate(digits):
        folder = tmp_path / "pngs" / ("grey" if i % 2 else "rgb")   # read recursively
        folder.mkdir(parents=True, exist_ok=True)
        picture = Image.fromarray(digit) if i % 2 else Image.fromarray(numpy.stack([digit] * 3, axis=-1))
        picture.save(folder / f"{i:03d}.png")
    order = numpy.r_[numpy.arange(1, 300, 2), numpy.arange(0, 300, 2)]   # the listing: grey/ before rgb/
    numpy.save(tmp_path / "listed.npy", digits[order])
    for source, name in ((["--png-dir", str(tmp_path / "pngs")], "a.json"), (["--npy", str(tmp_path / "listed.npy")],
                                                                          "b.json")):
        assert cli.main(["eval", *source, "--json", str(tmp_path / name)]) == 0
    assert "scoring the 300 pictures under" in capsys.readouterr().out
    scored = [json.loads((tmp_path / name).read_text()) for name in ("a.json", "b.json")]
    assert scored[0] == scored[1] and scored[0]["scores"]["samples"] == 300 and scored[0]["scores"]["modes"] == 10
    (tmp_path / "odd").mkdir()
    odd = tmp_path / "odd" / "x.png"
    for picture, why in ((Image.fromarray(numpy.zeros((32, 32), numpy.uint8)), "a 32x32 grey picture"),
                         (Image.fromarray(numpy.stack([digits[0], digits[0], 255 - digits[0]], -1)),
                          "a colour picture"),
                         (Image.fromarray(digits[0]).convert("P"), "a 28x28 mode-P picture")):
        picture.save(odd)
        with pytest.raises(SystemExit, match=f"^error: {odd}: {why}; eval scores 28x28 grey digits$"):
            cli.main(["eval", "--png-dir", str(tmp_path / "odd")])
    odd.write_bytes(b"not a picture")
    with pytest.raises(SystemExit, match=f"^error: {odd}: not a readable picture"):
        cli.main(["eval", "--png-dir", str(tmp_path / "odd")])
    odd.unlink()
    with pytest.raises(SystemExit, match=r"^error: --png-dir .*odd: no pictures in it or below it \(looked for .png, "
                                         r".jpg, .jpeg files\)$"):
        cli.main(["eval", "--png-dir", str(tmp_path / "odd")])
    for source in (["--png-dir", str(tmp_path / "pngs")], ["--npy", str(tmp_path / "listed.npy")]):
        for flag in (["--n", "100"], ["--generator", "raw"]):   # they were ignored in silence
            with pytest.raises(SystemExit) as refused:
                cli.main(["eval", *source, *flag])
            assert refused.value.code == 2 and capsys.readouterr().err.splitlines()[-1] == (
                f"python -m minigan eval: error: {flag[0]} is for --checkpoint only: a .npy file or a folder of "
                "pictures is scored whole")
