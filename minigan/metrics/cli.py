"""`python -m minigan eval`: score a run's generator, or a file or folder of samples, against the real digits."""
import json
import os

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
    source.add_argument("--png-dir", metavar="DIR",
                        help="a folder of 28x28 grey PNG or JPEG pictures, one digit each (what sample --png-dir "
                             "writes, or another program's samples), read recursively")
    e.add_argument("--n", type=int, default=None, help="samples to draw from a checkpoint (default 10,000)")
    e.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    flags.add_device(e, "generate and score")
    e.add_argument("--json", help="also write the scores to this file")
    add_generator_choice(e)
    e.set_defaults(run=run_eval, check=check_eval_args)


def check_eval_args(args):
    """An error message for eval's flags, or None. --n and --generator choose what to draw from a checkpoint,
    and mean nothing for samples already made. A --json must name a .json file (it is written over: a
    run's log.csv named by mistake was lost), not a folder, in a folder that exists: checked before the scoring
    (before, a mistake was found only after it)."""
    for flag, value in (("--n", args.n), ("--generator", args.generator)):
        if value is not None and not args.checkpoint:   # not ignored in silence
            return f"{flag} is for --checkpoint only: a .npy file or a folder of pictures is scored whole"
    return args.json and flags.file_to_write(args.json, "--json", ending=".json")


def run_eval(args):
    from minigan.gan import class_labels, generate, load_generator
    from minigan.metrics.evaluate import DEFAULT_SAMPLES, Evaluator, report
    labels = None
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
    elif args.png_dir:
        images = read_pictures(args.png_dir)
        print(f"scoring the {len(images):,} pictures under {args.png_dir}")
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
    evaluator = Evaluator()   # after the images: a bad input is refused without loading the classifier first
    per_class = evaluator.class_accuracy(images, labels) if labels is not None else None
    try:
        scores, floor = evaluator.score(images), evaluator.real_floor()
    except ValueError as error:
        raise SystemExit(f"error: {args.npy or args.png_dir or args.checkpoint}: {error}") from None
    print(report(scores, floor))
    if per_class:
        print("classifier accuracy on samples asked for each digit: "
              + ", ".join(f"{c}: {a:.2f}" for c, a in per_class.items()))
    if args.json:
        with files.atomic_write(args.json, "w") as f:
            json.dump({"scores": scores.as_dict(), "real": floor.as_dict(), "per_class_accuracy": per_class}, f, indent=2)


def read_pictures(folder):
    """The digits under `folder` as uint8 (n, 28, 28): each picture must be 28 x 28 and grey, stored as grey or as
    colour with three equal channels (torchvision's save_image writes grey digits so). Anything else is refused,
    naming the file: resizing or dropping colour would score pictures other than the ones given. A picture's
    size is read from its header, before anything is decoded."""
    from PIL import Image

    from minigan.data import DataNotFound
    from minigan.data.folder import pictures_under
    try:
        names = pictures_under(folder)
    except DataNotFound as error:   # not a folder, or no pictures in it
        raise SystemExit(f"error: --png-dir {error}") from None
    images = numpy.empty((len(names), 28, 28), numpy.uint8)
    for i, name in enumerate(names):
        path = os.path.join(folder, name)
        try:
            with Image.open(path) as picture:
                if picture.size != (28, 28) or picture.mode not in ("L", "RGB"):
                    kind = {"L": "grey", "RGB": "colour"}.get(picture.mode, f"mode-{picture.mode}")
                    raise SystemExit(f"error: {path}: a {picture.size[0]}x{picture.size[1]} {kind} picture; eval "
                                     "scores 28x28 grey digits")
                pixels = numpy.asarray(picture)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
            raise SystemExit(f"error: {path}: not a readable picture ({error})") from None
        if pixels.ndim == 3:
            if not (pixels == pixels[..., :1]).all():
                raise SystemExit(f"error: {path}: a colour picture; eval scores 28x28 grey digits")
            pixels = pixels[..., 0]
        images[i] = pixels
    return images
