"""The reference DCGAN recipe (shared/reference_dcgan.md) in PyTorch: the rival in the benchmarks and the
yardstick in the quality comparison. PyTorch is needed only here, never by minigan itself."""
import numpy

from minigan.gan import default_config, to_pixels

NZ = default_config()["nz"]


def build(device, seed):
    import torch
    from torch import nn
    torch.manual_seed(seed)
    G = nn.Sequential(
        nn.ConvTranspose2d(NZ, 256, 7, 1, 0, bias=False), nn.BatchNorm2d(256), nn.ReLU(True),
        nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(True),
        nn.ConvTranspose2d(128, 1, 4, 2, 1, bias=False), nn.Tanh()).to(device)
    D = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2, True),
        nn.Conv2d(128, 1, 7, 1, 0, bias=False)).to(device)
    dcgan_init_(G)
    dcgan_init_(D)
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    return G, D, opt_G, opt_D


def dcgan_init_(net):
    """Radford et al.'s initialisation, as minigan's players have it (gan.dcgan_init_)."""
    from torch import nn
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1, 0.02)
            nn.init.zeros_(m.bias)
    return net


def twin(model, device):
    """The PyTorch network with the layers of a minigan player's `main` (convolutions, batch norm,
    activations), initialised as the recipe initialises: players of other sizes than the reference's."""
    from torch import nn
    from minigan import nn as ours
    layers = []
    for m in model.main:
        if isinstance(m, (ours.Conv2d, ours.ConvTranspose2d)):
            kind = nn.Conv2d if isinstance(m, ours.Conv2d) else nn.ConvTranspose2d
            layers.append(kind(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, bias=False))
        elif isinstance(m, ours.BatchNorm2d):
            layers.append(nn.BatchNorm2d(m.num_features))
        else:
            layers.append({ours.ReLU: nn.ReLU(True), ours.Tanh: nn.Tanh(),
                           ours.LeakyReLU: nn.LeakyReLU(0.2, True)}[type(m)])
    return dcgan_init_(nn.Sequential(*layers)).to(device)


def build_sized(device, seed, image_size, channels):
    """(G, D, opt_G, opt_D) of the recipe at another image size: twins of minigan's players of that size."""
    import torch
    from minigan.gan import build_models
    torch.manual_seed(seed)
    ours_G, ours_D = build_models(default_config(image_size=image_size, channels=channels))
    G, D = twin(ours_G, device), twin(ours_D, device)
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    return G, D, opt_G, opt_D


def make_step(G, D, opt_G, opt_D, next_real, device):
    """One step of the recipe: D on a real and a fake batch (each through D on its own), then G through D
    (frozen) on the same fake batch. `next_real()` gives the next real batch as a tensor on `device`."""
    import torch
    bce = torch.nn.functional.binary_cross_entropy_with_logits

    def step():
        real = next_real()
        fake = G(torch.randn(real.shape[0], NZ, 1, 1, device=device))
        # (1) discriminator step
        opt_D.zero_grad()
        real_logits, fake_logits = D(real).view(-1), D(fake.detach()).view(-1)
        loss_D = bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits))
        loss_D.backward()
        opt_D.step()
        # (2) generator step, D frozen
        opt_G.zero_grad()
        D.requires_grad_(False)
        logits = D(fake).view(-1)
        loss_G = bce(logits, torch.ones_like(logits))
        loss_G.backward()
        D.requires_grad_(True)
        opt_G.step()
        return loss_G.item()
    return step


def sample(G, n, seed, device, chunk=1000):
    """n images from G with batch norm in eval mode, as uint8 pixels (n, 28, 28)."""
    import torch
    G.eval()
    generator = torch.Generator(device="cpu").manual_seed(seed)
    out = []
    with torch.no_grad():
        for start in range(0, n, chunk):
            z = torch.randn(min(chunk, n - start), NZ, 1, 1, generator=generator).to(device)
            out.append(G(z).cpu().numpy())
    G.train()
    return to_pixels(numpy.concatenate(out))
