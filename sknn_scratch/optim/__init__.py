"""Optimizers and learning-rate schedules: the functions ``sgd_momentum`` and ``adam``
(``f(variables, gradients, config, state)``), and the classes :class:`SGD`, :class:`Adam`, :class:`AdamW` and
:class:`RMSprop`, bound to the parameters they update and owning their learning rate
and its schedule (:mod:`.schedules`).

Importing this package registers the optimizers (``"sgd"``, ``"adam"``, ``"adamw"``,
``"rmsprop"``) and the schedules (``"constant"``, ``"cosine"``, ``"one_cycle"``,
``"step"``, ``"flat_cos"``, ``"coslog4"``; see :mod:`sknn_scratch.registry`).
"""

from ..registry import OPTIMIZERS, SCHEDULES
from . import schedules
from .adamw import AdamW
from .functional import adam, sgd_momentum
from .optimizers import SGD, Adam, Optimizer
from .rmsprop import RMSprop

__all__ = ["adam", "sgd_momentum", "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "schedules"]

OPTIMIZERS.base, SCHEDULES.base = Optimizer, schedules.Schedule
for _name, _cls in {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}.items():
    OPTIMIZERS.register(_name, _cls)
for _name, _cls in {
    "constant": schedules.Constant,
    "cosine": schedules.Cosine,
    "one_cycle": schedules.OneCycle,
    "step": schedules.Step,
    "flat_cos": schedules.FlatCos,
    "coslog4": schedules.CosLog,
}.items():
    SCHEDULES.register(_name, _cls)
del _name, _cls
