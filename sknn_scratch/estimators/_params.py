"""The estimators' parameters: their constraints, the settings a fit reads once, and the
components they name (optimizer, schedule, loss).

A parameter that names a component (``solver``, ``learning_rate``, ``loss``; also each
entry of ``layers``) takes a registry name, a ``(name, kwargs)`` pair or an instance.
"""

from __future__ import annotations

import copy
import difflib
import inspect
from numbers import Integral, Real
from types import SimpleNamespace

import numpy as np
from sklearn.utils._param_validation import Interval, Options, StrOptions

from ..callbacks import Callback
from ..optim import SGD
from ..optim.schedules import Adaptive, InvScaling, Schedule
from ..registry import ACTIVATIONS, CRITERIA, OPTIMIZERS, SCHEDULES
from ._training import callback_list

__all__ = [
    "CONSTRAINTS",
    "unknown_parameters",
    "PARAMETER_TEXTS",
    "RegisteredName",
    "read_settings",
    "component",
    "make_optimizer",
]


class RegisteredName(StrOptions):
    """A parameter constraint: the name of a component in ``registry`` (entry points
    included), or one of ``also``. scikit-learn's error then lists the known names, and
    ``hint`` after them."""

    def __init__(self, registry, also=(), hint=""):
        super().__init__(set(also))
        self.registry, self.also, self.hint = registry, tuple(also), hint

    def is_satisfied_by(self, val):
        # the registry's own spelling only (lowercase), as scikit-learn's options are exact;
        # entry points are read only for a name not registered yet
        if not isinstance(val, str) or val != val.strip().lower():
            return False
        return val in self.also or val in self.registry._items or val in self.registry

    def __str__(self):
        names = sorted({*self.registry.names(), *self.also})
        return f"a registered {self.registry.kind} name among {names}{self.hint}"


#: the constraints of the parameters both estimators share (scikit-learn's validation)
CONSTRAINTS: dict = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [RegisteredName(ACTIVATIONS)],
    "solver": [RegisteredName(OPTIMIZERS, also=("lbfgs",)), tuple],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "learning_rate": [
        # MLP's learning_rate is the schedule; a Keras or PyTorch user's is the step size
        RegisteredName(SCHEDULES, ("invscaling", "adaptive"), " (the step size itself is learning_rate_init)"),
        tuple,
        Schedule,
    ],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "power_t": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "random_state": ["random_state", np.random.Generator],
    "tol": [Interval(Real, 0, None, closed="left")],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "momentum": [Interval(Real, 0, 1, closed="both")],
    "nesterovs_momentum": ["boolean"],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "beta_1": [Interval(Real, 0, 1, closed="left")],
    "beta_2": [Interval(Real, 0, 1, closed="left")],
    "epsilon": [Interval(Real, 0, None, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
    "max_fun": [Interval(Integral, 1, None, closed="left")],
    "layers": [list, tuple, None],
    "input_shape": [tuple, list, None],
    "channels_last": ["boolean", None],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "batch_norm": ["boolean"],
    "callbacks": [list, tuple, callable, Callback, None],
}


#: parameter names of Keras, PyTorch training loops and other libraries, and the
#: estimators' name for the same setting (suggested when the class has it)
PARAMETER_SYNONYMS = {
    "epochs": "max_iter",
    "n_epochs": "max_iter",
    "num_epochs": "max_iter",
    "max_epochs": "max_iter",
    "lr": "learning_rate_init",
    "step_size": "learning_rate_init",
    "optimizer": "solver",
    "seed": "random_state",
    "random_seed": "random_state",
    "validation_split": "validation_fraction",
    "patience": "n_iter_no_change",
    "weight_decay": "alpha",
    "l2": "alpha",
    "hidden_units": "hidden_layer_sizes",
    "hidden_sizes": "hidden_layer_sizes",
    "units": "hidden_layer_sizes",
    "criterion": "loss",
    "dropout_rate": "dropout",
    "batch_normalization": "batch_norm",
    "batchnorm": "batch_norm",
    "module": "layers",
    "callback": "callbacks",
}


def unknown_parameters(cls, names):
    """The error text for constructor arguments ``names`` that ``cls`` does not take:
    each with the parameter it probably means (a known synonym, or the closest name),
    then the parameters it takes."""
    own = cls._get_param_names()
    hints = []
    for name in names:
        guess = PARAMETER_SYNONYMS.get(name) if PARAMETER_SYNONYMS.get(name) in own else None
        guess = guess or next(iter(difflib.get_close_matches(name, own, n=1, cutoff=0.6)), None)
        hints.append(f"{name!r} (did you mean {guess!r}?)" if guess else repr(name))
    return f"{cls.__name__} has no parameter {', '.join(hints)}; its parameters are {', '.join(own)}"


#: the docstring texts of parameters whose meaning goes beyond MLP's, shared by both
#: estimators (they override :mod:`._docs`'s)
PARAMETER_TEXTS = {
    "n_iter_no_change": """n_iter_no_change : int or np.inf, default=10
    Epochs without an improvement of ``tol`` (of the training loss, or of the validation
    score with ``early_stopping=True``) before training stops: MLP's rule. A callback
    that decides when training ends (``EarlyStopping``, ``ReduceLROnPlateau`` with
    ``min_lr > 0``: its ``stops_training`` is True) turns this rule off for the fits it
    takes part in, so that its own patience holds (see the callbacks' documentation).""",
    "input_shape": """input_shape : tuple of int, default=None
    Shape ``(C, H, W)`` (or any shape) of one sample, which ``layers`` takes. ``X`` may
    hold flat rows of ``prod(input_shape)`` values, each reshaped to it, or arrays of
    samples of that shape: ``(n, C, H, W)``, or ``(n, H, W)`` when ``C`` is 1. One entry
    may be -1 and is inferred from the data. Without it, an array of samples gives its
    own shape (``(n, H, W)`` is ``(n, 1, H, W)``). ``fit``, ``partial_fit``, the
    validation set, ``predict``, ``predict_proba`` and ``score`` take the same forms.""",
    "channels_last": """channels_last : bool or None, default=None
    Where the channel axis of a sample is. ``True``: last, ``input_shape=(H, W, C)`` and
    arrays ``(n, H, W, C)`` (or ``(n, H, W)``), as Keras and image files order them, and
    flat rows in that order; the network still computes channels first. ``False``:
    first, ``(C, H, W)``, as PyTorch orders them. ``None``: first, but a shape that
    reads both ways when ``layers`` uses it, a last size of at most 4 below the two
    others such as ``(28, 28, 1)`` or ``(32, 32, 3)``, is an error asking which one is
    meant rather than a guess.""",
}


def read_settings(est):
    """The parameters of ``est`` for one fit, validated (scikit-learn's constraints, then
    what they cannot say: MLP's checks of ``hidden_layer_sizes``, the shape of component
    specs, the callbacks) and copied into a namespace. The fit reads these only: whatever
    a callback does to the estimator's parameters during the fit, the fit follows them."""
    est._validate_params()
    settings = SimpleNamespace(**est.get_params(deep=False), keep_last_best=False, fixed_epochs=False)
    callback_list(settings.callbacks)
    for name in ("solver", "learning_rate", "loss"):
        spec = getattr(settings, name, None)
        if isinstance(spec, tuple) and not (len(spec) == 2 and isinstance(spec[0], str) and isinstance(spec[1], dict)):
            raise ValueError(f"{name}={spec!r}: give a name, a (name, kwargs) pair or an instance")
    sizes = settings.hidden_layer_sizes
    sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, Integral):
            raise TypeError(f"hidden_layer_sizes must hold integers, got {size!r} in {settings.hidden_layer_sizes!r}.")
    if any(size <= 0 for size in sizes):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
    # the settings the network is built from, as a string (a warm start must not change them);
    # channels_last=None, the default, is left out: the string of a model saved before it existed stays the same
    names = ("layers", "input_shape", "channels_last") if settings.layers is not None else (
        "hidden_layer_sizes", "activation", "input_shape", "channels_last", "dropout", "batch_norm"
    )  # fmt: skip
    values = [(name, getattr(settings, name)) for name in (*names, "loss") if hasattr(settings, name)]
    settings.architecture = repr(
        [(name, value) for name, value in values if not (name == "channels_last" and value is None)]
    )
    return settings


def component(spec, registry, what):
    """The component a parameter names: a registry name, a ``(name, kwargs)`` pair, or an
    instance (copied, so that training never changes the parameter's object)."""
    if isinstance(spec, str):
        return registry.get(spec)()
    if isinstance(spec, tuple):
        cls = registry.get(spec[0])
        try:
            return cls(**spec[1])
        except TypeError as exc:
            raise ValueError(f"{what}={spec!r}: cannot build {cls.__name__} with {spec[1]}: {exc}") from None
    return copy.deepcopy(spec)


def spec_name(spec):
    """The registry name in a component spec (None for an instance)."""
    return spec if isinstance(spec, str) else spec[0] if isinstance(spec, tuple) else None


#: output activations of losses whose predictions are probabilities (classification)
PROBABILITY_ACTIVATIONS = ("softmax", "logistic")


def check_loss(criterion, probabilities, spec):
    """``criterion`` if it can be an estimator's loss: a criterion on raw scores (with
    ``activate``, ``out_activation`` and ``loss_and_grad``) whose predictions are
    probabilities for a classifier and not for a regressor."""
    if not all(hasattr(criterion, attr) for attr in ("activate", "out_activation", "loss_and_grad")):
        losses = [n for n in CRITERIA.names() if hasattr(CRITERIA.get(n), "activate")]
        raise ValueError(
            f"loss={spec!r} is a criterion on predictions, not a loss on raw scores (one with activate(), "
            f"out_activation and loss_and_grad()); the registered losses are {losses}"
        )
    if (criterion.out_activation in PROBABILITY_ACTIVATIONS) != probabilities:
        what = "a classifier needs a loss giving probabilities" if probabilities else "a regressor needs a loss"
        raise ValueError(
            f"loss={spec!r} (output activation {criterion.out_activation!r}): {what} "
            f"{'with' if probabilities else 'without'} out_activation in {PROBABILITY_ACTIVATIONS}"
        )
    return criterion


def make_optimizer(settings, objective, previous=None):
    """The optimizer ``solver`` names, bound to the objective's parameter vector, with the
    layers' learning-rate and decay factors and the ``learning_rate`` schedule; ``"sgd"``
    and ``"adam"`` (and their subclasses) take MLP's settings. With ``previous`` (the
    optimizer of the fit that ``partial_fit`` continues) of the same class, it goes on
    from that one's state: moments, step count and rate."""
    name = settings.solver if isinstance(settings.solver, str) else settings.solver[0]
    cls, options = OPTIMIZERS.get(name), {}
    if name == "sgd":
        options.update(momentum=settings.momentum, nesterov=settings.nesterovs_momentum)
    elif name in ("adam", "adamw"):
        options.update(beta_1=settings.beta_1, beta_2=settings.beta_2, epsilon=settings.epsilon)
    if isinstance(settings.solver, tuple):
        options.update(settings.solver[1])
    # the package's optimizers take parameter groups and a schedule; a plugin's may not
    schedule = None if settings.learning_rate == "constant" else make_schedule(settings, cls)
    wanted = {"schedule": schedule, "lr_factors": objective.lr_factors}
    takes = inspect.signature(cls).parameters
    takes_all = any(p.kind is p.VAR_KEYWORD for p in takes.values())
    for key, value in wanted.items():
        if takes_all or key in takes:
            options[key] = value
        elif value is not None:
            raise ValueError(
                f"solver={settings.solver!r}: {cls.__name__} takes no {key!r}, which this network needs "
                f"({'learning_rate=' + repr(settings.learning_rate) if key == 'schedule' else 'its layers'})"
            )
    if takes_all or "decay_factors" in takes:
        options["decay_factors"] = objective.decay
    optimizer = cls(objective.params, objective.grads, learning_rate=settings.learning_rate_init, **options)
    if type(previous) is cls:  # not after a change of solver
        optimizer.load_state_dict(previous.state_dict())
    return optimizer


def make_schedule(settings, optimizer_class):
    """The learning-rate schedule: MLP's ``"invscaling"`` and ``"adaptive"`` for SGD only
    (MLP ignores them otherwise), or a registered schedule for any optimizer; None for a
    constant rate."""
    spec = settings.learning_rate
    if spec in ("invscaling", "adaptive"):
        if not issubclass(optimizer_class, SGD):
            return None
        return InvScaling(settings.power_t) if spec == "invscaling" else Adaptive()
    schedule = component(spec, SCHEDULES, "learning_rate")
    return None if type(schedule) is SCHEDULES.get("constant") else schedule
