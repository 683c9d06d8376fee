"""A plugin layer: additive Gaussian noise in training, the identity in evaluation.

One file and one entry point (see pyproject.toml): once the package is installed,
``NumpyNetClassifier(layers=[..., ("gaussian_noise", {"sigma": 0.1}), ...])`` finds it.
"""

import numpy as np

from sknn_scratch.nn import Module, as_generator


class GaussianNoise(Module):
    """``output = input + sigma * noise`` in training (``noise ~ N(0, 1)``, drawn from
    ``rng``); ``output = input`` in evaluation. The gradient passes unchanged.

    Parameters
    ----------
    sigma : float, default=0.1
    rng : None, int or numpy.random.Generator
        The estimators pass one derived from their ``random_state``.
    """

    def __init__(self, sigma=0.1, *, rng=None):
        super().__init__()
        self.sigma = float(sigma)
        self.rng = as_generator(rng)

    def updateOutput(self, input):
        x = np.asarray(input)
        if self.training and self.sigma:
            self.output = x + (self.sigma * self.rng.standard_normal(x.shape)).astype(x.dtype)
        else:
            self.output = x
        return self.output

    def updateGradInput(self, input, gradOutput):
        self.gradInput = np.asarray(gradOutput)
        return self.gradInput

    def extra_repr(self):
        return f"sigma={self.sigma}"
