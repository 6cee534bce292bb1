"""minigan.nn.functional: the ops under the names torch.nn.functional gives them."""
from minigan.ops import (  # noqa: F401
    avg_pool2d, batch_norm, binary_cross_entropy_with_logits, conv2d, conv_transpose2d, cross_entropy, dropout,
    layer_norm, leaky_relu, linear, log_softmax, max_pool2d, mse_loss, relu, sigmoid, softmax, softplus, tanh)
