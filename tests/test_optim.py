"""SGD, Adam and RMSprop against torch.optim: the same model, data and starting weights, 100 steps, every option."""
import numpy
import pytest

import minigan
from minigan import nn, optim
from tests.support import cut_over_three_threads, import_torch

OPTIONS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=2e-3, betas=(0.5, 0.999))),
    ("Adam", dict(lr=0.01, eps=1e-4)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.05, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=5e-3, alpha=0.9, eps=1e-6)),
    ("RMSprop", dict(lr=5e-3, momentum=0.9)),
    ("RMSprop", dict(lr=5e-3, centered=True)),
    ("RMSprop", dict(lr=5e-3, momentum=0.5, centered=True, weight_decay=0.1)),
]


def models(torch):
    minigan.manual_seed(0)
    ours = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
    with torch.no_grad():
        for p, tp in zip(ours.parameters(), theirs.parameters()):
            tp.copy_(torch.tensor(p.numpy()))
    return ours, theirs


@pytest.mark.parametrize("name,options", OPTIONS, ids=[f"{n}-{'-'.join(o)}" for n, o in OPTIONS])
def test_optimizer_matches_torch_after_100_steps(name, options):
    torch = import_torch()
    ours, theirs = models(torch)
    opt = getattr(optim, name)(ours.parameters(), **options)
    topt = getattr(torch.optim, name)(theirs.parameters(), **options)
    rng = numpy.random.default_rng(0)
    for _ in range(100):
        x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 2))
        opt.zero_grad()
        minigan.mse_loss(ours(minigan.tensor(x)), minigan.tensor(y)).backward()
        opt.step()
        topt.zero_grad()
        torch.nn.functional.mse_loss(theirs(torch.tensor(x)), torch.tensor(y)).backward()
        topt.step()
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        numpy.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=0, atol=1e-6)
    moved = max(numpy.abs(p.numpy() - q.numpy()).max() for p, q in zip(ours.parameters(), models(torch)[0].parameters()))
    assert moved > 1e-3  # the comparison is not between two models that never moved


@pytest.mark.parametrize("name,options", [("Adam", dict(lr=0.1, amsgrad=True)), ("SGD", dict(lr=0.1, momentum=0.9)),
                                          ("RMSprop", dict(lr=0.1, momentum=0.9, centered=True))])
def test_optimizer_state_round_trips_and_resumes_identically(name, options):
    minigan.manual_seed(0)
    model = nn.Linear(3, 1)
    opt = getattr(optim, name)(model.parameters(), **options)
    x = minigan.randn(8, 3)

    def step(m, o):
        o.zero_grad()
        (m(x) ** 2).mean().backward()
        o.step()

    for _ in range(3):
        step(model, opt)
    clone = nn.Linear(3, 1)
    clone.load_state_dict(model.state_dict())
    clone_opt = getattr(optim, name)(clone.parameters())
    clone_opt.load_state_dict(opt.state_dict())
    step(model, opt)
    step(clone, clone_opt)
    numpy.testing.assert_array_equal(model.weight.numpy(), clone.weight.numpy())


def test_optimizers_refuse_bad_options():
    params = list(nn.Linear(2, 2).parameters())
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(params, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(params, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="lr must be a finite number, 0 or more, got -1"):
        optim.SGD(params, lr=-1)
    with pytest.raises(ValueError, match="eps must be a finite number, 0 or more, got nan"):
        optim.Adam(params, eps=float("nan"))
    with pytest.raises(ValueError, match="alpha must be in \\[0, 1\\], got 1.5"):
        optim.RMSprop(params, alpha=1.5)
    with pytest.raises(ValueError, match="centered must be true or false, got 'yes'"):
        optim.RMSprop(params, centered="yes")
    with pytest.raises(ValueError, match="parameter 2 appears twice"):
        optim.SGD(params + params[:1], lr=0.1)


@pytest.mark.parametrize("make, message", [
    (lambda w: optim.Adam(w), "Adam: params must be an iterable of tensors"),
    (lambda w: optim.SGD([w * 2], lr=0.1), "SGD: parameter 0 was computed by an op"),
    (lambda w: optim.RMSprop([w, 0.5]), "RMSprop: parameter 1 is a float, not a tensor"),
])
def test_optimizers_refuse_what_they_could_never_update(make, message):
    """Adam(layer.weight) iterated the weight into its rows, which no gradient reaches: every step did nothing,
    silently. A computed tensor likewise gets no .grad from backward."""
    with pytest.raises((TypeError, ValueError), match=f"^{message}"):
        make(nn.Linear(3, 2).weight)


def test_a_loaded_state_is_held_to_the_constructors_rules():
    params = list(nn.Linear(2, 2).parameters())
    opt = optim.Adam(params, lr=0.01)
    params[0].grad = params[0] * 1
    opt.step()
    good = opt.state_dict()
    for edit, message in ((lambda s: s["hyper"].update(lr=-1.0), "lr must be a finite number"),
                          (lambda s: s["hyper"].update(betas=[2.0, 0.999]), "betas must be two numbers"),
                          (lambda s: s.update(steps=-1), "'steps' must be a whole number"),
                          (lambda s: s.update(steps=0), "expected \\['exp_avg', 'exp_avg_sq'\\] after a first step"),
                          (lambda s: s["state"][0].pop("exp_avg_sq"), "holds \\['exp_avg'\\]")):
        state = {"hyper": dict(good["hyper"]), "steps": good["steps"], "state": [dict(s) for s in good["state"]]}
        edit(state)
        with pytest.raises(ValueError, match=message):
            opt.load_state_dict(state)
    assert opt.hyper["lr"] == 0.01 and opt.steps == 1   # nothing changed


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_in_blocks_cut_over_three_threads_gives_the_numbers_of_one_pass(amsgrad):
    """The CPU kernel updates a large weight in cache-sized blocks, cut over the cores: three threads over a
    weight of three and a bit blocks must give, to the bit, what one pass of the formula over the whole
    weight gives (each number's update reads no other number)."""
    from minigan.kernels import cpu
    rng = numpy.random.default_rng(0)
    size = 3 * (1 << 16) + 5
    param, grad, exp_avg = (rng.standard_normal(size).astype(numpy.float32) for _ in range(3))
    exp_avg_sq, max_sq = (rng.random(size, dtype=numpy.float32) for _ in range(2))
    hyper = dict(lr=0.01, beta1=0.5, beta2=0.999, eps=1e-8, weight_decay=0.1, bias_correction1=0.75,
                 sqrt_bias_correction2=0.0447)
    whole = [a.copy() for a in (param, grad, exp_avg, exp_avg_sq, max_sq)]
    start = param.copy()
    cpu._adam_block(*whole[:4], whole[4] if amsgrad else None, **hyper)
    with cut_over_three_threads():
        cpu.adam_update(param, grad, exp_avg, exp_avg_sq, max_sq if amsgrad else None, **hyper)
    for got, expected in zip((param, exp_avg, exp_avg_sq, max_sq), (whole[0], whole[2], whole[3], whole[4])):
        numpy.testing.assert_array_equal(got, expected)
    changed = param != start   # every block was updated, the last short one included
    assert all(changed[i:i + (1 << 16)].mean() > 0.9 for i in range(0, size, 1 << 16))
