"""The Frechet distance over training, raw and averaged generators, from quality_vs_torch.py's results.

    python benchmarks/plot_quality.py benchmarks/results_quality_cpu.json examples/pictures/quality_curve.png

One line per generator of minigan's runs (the mean over seeds, the seeds' range shaded), and PyTorch's final
figures as dots at the step its runs ended on, each line labelled with its batch size. Prints the same figures
as a table.
"""
import argparse
import json

import minigan  # noqa: F401  (before NumPy, which loads OpenBLAS: see minigan/machine.py)
import numpy

from minigan import flags
from minigan.gan import plots


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", help="quality.json written by benchmarks/quality_vs_torch.py")
    p.add_argument("out", help="the picture to write (.png)")
    args = p.parse_args()
    problem = flags.picture_name(args.out, "out") or flags.file_to_write(args.out, "out")
    if problem:
        p.error(problem)
    try:
        with open(args.results) as f:
            results = json.load(f)
        curve = results["curve"]
    except KeyError as error:
        p.error(f"{args.results}: not the quality.json of quality_vs_torch.py (it has no {error})")
    except (OSError, ValueError, TypeError) as error:
        p.error(f"{args.results}: not the quality.json of quality_vs_torch.py ({error})")
    batch = results.get("batch_size", 64)   # files of earlier versions: both libraries ran the reference recipe
    torch_steps, torch_batch = results.get("torch_steps", results.get("steps")), results.get("torch_batch_size", 64)
    generators = list(dict.fromkeys(r["generator"] for r in curve))
    steps = sorted({r["step"] for r in curve})
    plt = plots._matplotlib()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    print(f"{'step':>6} " + " ".join(f"{g:>26}" for g in generators))
    table = {}
    for g in generators:
        values = [[r["frechet_distance"] for r in curve if r["generator"] == g and r["step"] == s] for s in steps]
        mean = [numpy.mean(v) for v in values]
        ax.plot(steps, mean, marker="o", label=f"minigan, {g} G, B = {batch}")
        ax.fill_between(steps, [min(v) for v in values], [max(v) for v in values], alpha=0.15)
        table[g] = [f"{m:.1f} ({min(v):.1f}-{max(v):.1f})" for m, v in zip(mean, values)]
    for i, s in enumerate(steps):
        print(f"{s:>6} " + " ".join(f"{table[g][i]:>26}" for g in generators))
    torch = [r["frechet_distance"] for r in results["runs"] if r["framework"] == "pytorch"]
    if torch:
        ax.scatter([torch_steps] * len(torch), torch, color="k", zorder=3, label=f"PyTorch, B = {torch_batch}, each seed")
        print(f"PyTorch at {torch_steps} (B = {torch_batch}): {numpy.mean(torch):.1f} "
              f"({min(torch):.1f}-{max(torch):.1f})")
    ax.set_xlabel("step")
    ax.set_ylabel("Frechet distance (lower is better)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.set_title(f"{len({r['seed'] for r in curve})} seeds, 10,000 samples each, device {results.get('device')}",
                 fontsize=9)
    fig.tight_layout()
    plots.save_figure(fig, args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
