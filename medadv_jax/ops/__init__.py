"""XLA/CPU kernels: faster convolution gradients, max-pooling and compiler options."""
