"""Optimizers: the seed notebook's functions ``sgd_momentum`` and ``adam``, and the
classes :class:`SGD` and :class:`Adam`, bound to the parameters they update.

Importing this package registers the classes as the optimizers ``"sgd"`` and
``"adam"`` (see :mod:`sknn_scratch.registry`).
"""

from ..registry import OPTIMIZERS
from .functional import adam, sgd_momentum
from .optimizers import SGD, Adam, Optimizer

__all__ = ["adam", "sgd_momentum", "Optimizer", "SGD", "Adam"]

OPTIMIZERS.register("sgd", SGD)
OPTIMIZERS.register("adam", Adam)
