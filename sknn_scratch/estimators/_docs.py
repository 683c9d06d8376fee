"""The parameter and attribute texts of the estimators' docstrings, written once.

:func:`document` fills the ``<<parameters>>`` and ``<<attributes>>`` markers of an
estimator's docstring, in the order of its constructor's signature, with the text
of this module (an estimator's own texts override the shared ones).
"""

from __future__ import annotations

import inspect
import textwrap

PARAMETERS = {
    "hidden_layer_sizes": """hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
    Units of each hidden layer (used when ``layers`` is None).""",
    "activation": """activation : str, default="relu"
    Hidden activation (used when ``layers`` is None): MLP's ``"identity"``,
    ``"logistic"``, ``"tanh"``, ``"relu"``, or any registered activation.""",
    "solver": """solver : str, default="adam"
    ``"adam"`` and ``"sgd"`` train by mini-batches with MLP's settings; ``"lbfgs"`` runs
    ``scipy.optimize.minimize(method="L-BFGS-B")`` on the full batch; any other registered
    optimizer trains by mini-batches with ``learning_rate_init``.""",
    "alpha": """alpha : float, default=1e-4
    L2 penalty on the weights (the parameters each layer declares decayed: weights of
    linear and convolutional layers, not offsets), scaled as in MLP by
    ``1 / sum(sample_weight)`` of each batch.""",
    "batch_size": """batch_size : int or "auto", default="auto"
    Rows per mini-batch; ``"auto"`` is ``min(200, n_samples)``.""",
    "learning_rate": """learning_rate : str, (str, dict) or Schedule, default="constant"
    The schedule of the learning rate, which the optimizer owns. MLP's
    ``"constant"``, ``"invscaling"`` (``learning_rate_init / t**power_t``) and
    ``"adaptive"`` (divided by 5 after ``n_iter_no_change`` epochs without improvement)
    keep MLP's meaning: the last two apply to ``"sgd"`` only. Any other registered
    schedule applies to every stochastic solver over the ``max_iter`` epochs:
    ``"cosine"``, ``"one_cycle"``, ``"step"``, ``"flat_cos"``, ``"coslog4"`` (see
    :mod:`sknn_scratch.optim.schedules`), also as a ``(name, kwargs)`` pair, e.g.
    ``("cosine", {"warmup": 0.1})``.""",
    "learning_rate_init": """learning_rate_init : float, default=1e-3
    The initial learning rate of the stochastic solvers.""",
    "power_t": """power_t : float, default=0.5
    Exponent of the ``"invscaling"`` schedule.""",
    "max_iter": """max_iter : int, default=200
    Epochs for the stochastic solvers, iterations for ``"lbfgs"``.""",
    "shuffle": """shuffle : bool, default=True
    Shuffle the rows at every epoch.""",
    "random_state": """random_state : int, RandomState, Generator or None, default=None
    Seeds initialisation, dropout masks, shuffling and the validation split. The same
    value gives the same model; an int draws MLP's initial weights; the global NumPy
    random state is never used.""",
    "tol": """tol : float, default=1e-4
    Improvement of the loss (or validation score) below which an epoch counts as no
    improvement; for ``"lbfgs"``, the gradient tolerance.""",
    "verbose": """verbose : bool or int, default=False
    ``True`` prints MLP's lines (the loss of every iteration, the validation score,
    why training stopped); ``2`` prints instead a line per epoch with the losses,
    validation score, learning rate, seconds and ETA.""",
    "warm_start": """warm_start : bool, default=False
    ``fit`` continues training the fitted network (same architecture) instead of
    building a new one.""",
    "momentum": """momentum : float, default=0.9
    Momentum of the ``"sgd"`` solver, in [0, 1].""",
    "nesterovs_momentum": """nesterovs_momentum : bool, default=True
    Nesterov's momentum for the ``"sgd"`` solver.""",
    "early_stopping": """early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the rows (or use ``fit``'s ``validation_data``),
    stop when the validation score has not improved by ``tol`` for
    ``n_iter_no_change`` epochs, and restore the best epoch's weights.""",
    "validation_fraction": """validation_fraction : float, default=0.1
    Share of the training rows held out for ``early_stopping`` (at least 2 rows).""",
    "beta_1": """beta_1 : float, default=0.9
    Decay of Adam's first moment, in [0, 1).""",
    "beta_2": """beta_2 : float, default=0.999
    Decay of Adam's second moment, in [0, 1).""",
    "epsilon": """epsilon : float, default=1e-8
    Adam's numerical stabiliser.""",
    "n_iter_no_change": """n_iter_no_change : int or np.inf, default=10
    Epochs without an improvement of ``tol`` before training stops.""",
    "max_fun": """max_fun : int, default=15000
    Most loss evaluations of ``"lbfgs"``.""",
    "layers": """layers : list of layer specs, default=None
    The hidden network. Each spec is a registry name (``"relu"``), a ``(name, kwargs)``
    pair (``("conv2d", {"out_channels": 16, "kernel_size": 3})``, ``("linear", {"n_out":
    64})``, ``("maxpool2d", {"kernel_size": 2})``, ``("dropout", {"p": 0.2})``) or a module
    instance (copied and re-initialised from ``random_state``). Input sizes are inferred;
    the output layer, its activation and the loss follow from the target, as in MLP.""",
    "input_shape": """input_shape : tuple of int, default=None
    Shape ``(C, H, W)`` (or any shape) of one sample; each row of ``X`` is reshaped to it.
    One entry may be -1 and is inferred from the number of features.""",
    "dropout": """dropout : float, default=0.0
    Dropout rate after every hidden activation (``layers=None`` only).""",
    "batch_norm": """batch_norm : bool, default=False
    Batch normalisation (with learned scale and shift) after every hidden linear layer
    (``layers=None`` only).""",
    "callbacks": """callbacks : Callback, callable or list of them, default=None
    :class:`~sknn_scratch.callbacks.Callback` objects (hooks at the start and end of the
    fit, after every epoch or L-BFGS iteration, after every batch; e.g. ``ProgressBar()``,
    ``EarlyStopping(restore_best=True)``), or functions called as ``callback(estimator,
    logs)`` after every epoch with ``logs`` holding ``epoch`` (also as ``iteration``),
    ``loss``, ``validation_loss``, ``validation_score``, ``learning_rate`` and ``seconds``.
    A hook returning ``True`` stops training.""",
}

ATTRIBUTES = {
    "loss_": """loss_ : float
    Loss of the last iteration (for the stochastic solvers, the mean over the epoch).""",
    "best_loss_": """best_loss_ : float or None
    Best training loss (None with early stopping).""",
    "loss_curve_": """loss_curve_ : list of float
    Training loss of each epoch (stochastic solvers).""",
    "validation_scores_": """validation_scores_ : list of float or None
    Validation score of each epoch, with early stopping or ``validation_data``.""",
    "validation_loss_curve_": """validation_loss_curve_ : list of float or None
    Validation loss of each epoch, with early stopping or ``validation_data``.""",
    "best_validation_score_": """best_validation_score_ : float or None
    Best validation score.""",
    "t_": """t_ : int
    Number of training samples seen.""",
    "learning_rate_": """learning_rate_ : float or None
    The optimizer's current learning rate (None for ``"lbfgs"``), read-only: callbacks
    change ``optimizer_.learning_rate``.""",
    "learning_rate_curve_": """learning_rate_curve_ : list of float
    The learning rate of each epoch (stochastic solvers).""",
    "optimizer_": """optimizer_ : Optimizer or None
    The optimizer of the last fit (None for ``"lbfgs"``): it owns the learning rate
    (``optimizer_.learning_rate``, which callbacks may change during a fit) and its
    schedule, and its state (moments, step count) is where ``partial_fit`` goes on
    from.""",
    "n_iter_": """n_iter_ : int
    Epochs (iterations for ``"lbfgs"``) of the last fit.""",
    "n_layers_": """n_layers_ : int
    Number of linear layers + 1 (MLP's count of layers for dense networks).""",
    "n_outputs_": """n_outputs_ : int
    Number of outputs of the network.""",
    "coefs_": """coefs_ : list of ndarray
    Weights of the linear layers, ``coefs_[i]`` shaped ``(n_in, n_out)`` as in MLP (views:
    in-place changes reach the network).""",
    "intercepts_": """intercepts_ : list of ndarray
    Offsets of the linear layers, shaped ``(n_out,)`` (views).""",
    "network_": """network_ : Sequential
    The trained network, from the input rows to the raw scores of the output layer:
    predictions apply the output activation ``out_activation_`` to its output
    (``network_.forward(X)`` gives scores, not probabilities).""",
    "n_features_in_": """n_features_in_ : int
    Number of features seen in ``fit``.""",
    "feature_names_in_": """feature_names_in_ : ndarray of str
    Names of the features seen in ``fit``, when ``X`` had string column names.""",
}

#: the attributes of both estimators, in the order shown (each adds its own around them)
SHARED_ATTRIBUTES = list(ATTRIBUTES)


def _section(entries):
    return textwrap.indent("\n".join(entries), "    ")


def document(cls, parameters=None, attributes=None, attribute_order=None):
    """Fill ``cls.__doc__``'s ``<<parameters>>`` (every constructor argument, in order)
    and ``<<attributes>>`` markers; ``parameters`` and ``attributes`` are the class's own
    texts, overriding the shared ones. Returns ``cls``."""
    texts = {**PARAMETERS, **(parameters or {})}
    names = [n for n in inspect.signature(cls.__init__).parameters if n != "self"]
    missing = [n for n in names if n not in texts]
    if missing:
        raise RuntimeError(f"{cls.__name__}: parameters without a description: {missing}")
    entries = [texts[name] for name in names]
    attribute_texts = {**ATTRIBUTES, **(attributes or {})}
    order = attribute_order or list(attribute_texts)
    cls.__doc__ = cls.__doc__.replace("    <<parameters>>", _section(entries)).replace(
        "    <<attributes>>", _section(attribute_texts[n] for n in order)
    )
    return cls
