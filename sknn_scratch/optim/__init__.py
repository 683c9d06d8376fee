"""Optimizers: the seed notebook's functional ``sgd_momentum`` and ``adam`` and the
classes :class:`SGD` and :class:`Adam`, which share the same update kernels."""

from .functional import adam, sgd_momentum
from .optimizers import SGD, Adam, Optimizer, adam_step, sgd_step

__all__ = ["adam", "sgd_momentum", "Optimizer", "SGD", "Adam", "sgd_step", "adam_step"]
