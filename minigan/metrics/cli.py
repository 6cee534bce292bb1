"""`python -m minigan eval`: score a run's generator, or a file of samples, against the real digits."""
import json

import numpy

from minigan import files, flags
from minigan.messages import shown


DESCRIPTION = (
    "Score generated digits with minigan's digit classifier: the Frechet distance of its features to the real "
    "digits' (lower is better), the inception score (at most 10), how many of the ten digits hold at least 2% of "
    "the samples, and the near-duplicate rate; the real digits' own figures are printed beside them. The README's "
    "calibration table (python scripts/calibrate_metrics.py) shows what they are for real digits, a trained "
    "DCGAN, noise and a collapsed generator. Digits only: a run on other pictures is refused.")


def add_eval_command(subparsers, add_generator_choice):
    e = subparsers.add_parser("eval", help="score generated digits (Frechet distance, inception score, modes)",
                              description=DESCRIPTION)
    source = e.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", help="a run checkpoint: draw --n samples from its generator")
    source.add_argument("--npy", help="a .npy file of images: uint8 (n, 28, 28), or floats in [-1, 1]")
    e.add_argument("--n", type=int, default=None, help="samples to draw from a checkpoint (default 10,000)")
    e.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    flags.add_device(e, "generate and score")
    e.add_argument("--json", help="also write the scores to this file")
    add_generator_choice(e)
    e.set_defaults(run=run_eval, check=check_eval_args)


def check_eval_args(args):
    """An error message for eval's flags, or None. A --json must name a .json file (it is written over: a
    run's log.csv named by mistake was lost), not a folder, in a folder that exists: checked before the scoring
    (before, a mistake was found only after it)."""
    if args.json and not args.json.endswith(".json"):
        return f"--json {args.json}: the file name must end in .json"
    return args.json and flags.file_to_write(args.json, "--json")


def run_eval(args):
    from minigan.gan import class_labels, generate, load_generator
    from minigan.metrics.evaluate import DEFAULT_SAMPLES, Evaluator, report
    evaluator = Evaluator()
    per_class = None
    if args.checkpoint:
        G, config, which = load_generator(args.checkpoint, args.device, args.generator)
        training = config.get("training")
        dataset = training.get("dataset", "mnist") if isinstance(training, dict) else "mnist"
        if dataset != "mnist":
            raise SystemExit(f"error: {args.checkpoint} was trained on {shown(dataset)} images; the scores come from "
                             "a digit classifier and mean nothing for them")
        print(f"scoring the {which} generator of {args.checkpoint}")
        n = args.n or DEFAULT_SAMPLES
        z = numpy.random.default_rng(args.seed).standard_normal((n, config["nz"]))
        labels = class_labels(n, config)
        images = generate(G, z, labels, args.device)
        if labels is not None:
            per_class = evaluator.class_accuracy(images, labels)
    else:
        try:   # mapped first: a header that claims more than the file holds is refused, not allocated
            images = numpy.load(args.npy, allow_pickle=False, mmap_mode="r")
        except (OSError, ValueError, EOFError) as error:
            why = ("shorter than its header says" if "mmap length" in str(error) else
                   "it holds Python objects, which only unpickling reads" if "objects" in str(error) else error)
            raise SystemExit(f"error: {args.npy}: not a readable .npy array ({why})") from None
        if not isinstance(images, numpy.ndarray):
            raise SystemExit(f"error: {args.npy}: holds several arrays; pass one .npy array of images")
        images = numpy.array(images)   # read: no more than the file holds
    try:
        scores, floor = evaluator.score(images), evaluator.real_floor()
    except ValueError as error:
        raise SystemExit(f"error: {args.npy or args.checkpoint}: {error}") from None
    print(report(scores, floor))
    if per_class:
        print("classifier accuracy on samples asked for each digit: "
              + ", ".join(f"{c}: {a:.2f}" for c, a in per_class.items()))
    if args.json:
        with files.atomic_write(args.json, "w") as f:
            json.dump({"scores": scores.as_dict(), "real": floor.as_dict(), "per_class_accuracy": per_class}, f, indent=2)
