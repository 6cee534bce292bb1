"""Modules, layers and initialisers (minigan.nn), as torch.nn."""
from minigan.nn import functional, init
from minigan.nn.layers import (
    BatchNorm1d, BatchNorm2d, BCEWithLogitsLoss, Conv2d, ConvTranspose2d, CrossEntropyLoss, Dropout, Embedding, Flatten,
    LayerNorm, LeakyReLU, Linear, MSELoss, ReLU, Sigmoid, Tanh, Unflatten)
from minigan.nn.module import Module, ModuleList, Parameter, Sequential
from minigan.nn.spectral_norm import SpectralNorm, spectral_norm, spectral_norm_weight
