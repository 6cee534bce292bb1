"""Optimizers (minigan.optim), as torch.optim."""
from minigan.optim.adam import Adam
from minigan.optim.optimizer import Optimizer
from minigan.optim.rmsprop import RMSprop
from minigan.optim.sgd import SGD
