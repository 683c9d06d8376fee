"""The parameters of the tabular estimators: the values they take (and the epochs that
``max_iter="auto"`` plans), and what they and the fitted attributes mean, for the
classes' docstrings.
"""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ..nn import Criterion
from ..registry import ACTIVATIONS, CRITERIA
from ._docs import SHARED_ATTRIBUTES, document
from ._params import CONSTRAINTS, RegisteredName

#: the numeric embeddings by name (None: the numbers as they are)
NUMERIC_EMBEDDINGS = ("pbld", "periodic", "piecewise_linear")
#: optimizer steps that ``max_iter="auto"`` aims at (at least 16 epochs, at most MAX_EPOCHS)
STEP_BUDGET = 512
MAX_EPOCHS = 96

#: the constraints of the parameters that the classifier and the regressor share
_SHARED_CONSTRAINTS = {
    **{name: CONSTRAINTS[name] for name in ("random_state", "verbose", "callbacks", "validation_fraction")},
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [RegisteredName(ACTIVATIONS)],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "max_iter": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "numeric_embedding": [StrOptions(set(NUMERIC_EMBEDDINGS)), None],
    "categorical_embedding_dim": [Interval(Integral, 1, None, closed="left")],
    "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
    "n_ensembles": [Interval(Integral, 1, None, closed="left")],
}
#: the classifier's parameter constraints
CLASSIFIER_CONSTRAINTS = {
    **_SHARED_CONSTRAINTS,
    "label_smoothing": [Interval(Real, 0, 1, closed="both")],
    "class_weight": [dict, StrOptions({"balanced"}), None],
}
#: the regressor's parameter constraints
REGRESSOR_CONSTRAINTS = {
    **_SHARED_CONSTRAINTS,
    "loss": [RegisteredName(CRITERIA), tuple, Criterion],
}

#: the parameters' descriptions (the others are the drop-in estimators')
PARAMETERS = {
    "hidden_layer_sizes": """hidden_layer_sizes : array-like of int, default=(256, 256)
    Units of each hidden layer (RealMLP-TD has three of 256: see the "Tabular data" page).""",
    "activation": """activation : str, default="selu" (classifier), "mish" (regressor)
    The hidden activation (any registered name), mixed with the identity by a learned
    weight per unit that starts at 1.""",
    "dropout": """dropout : float in [0, 1), default=0.15
    Dropout rate after every hidden layer for the first half of training, then fading
    out to 0 along a cosine.""",
    "weight_decay": """weight_decay : float, default=0.02
    Decoupled weight decay (AdamW's) of the weights, embeddings, numeric embeddings,
    activation mixes and input scales (not of offsets), fading out as ``dropout`` does.
    A part trained at a learning-rate factor ``f`` (0.1 for the embeddings and mixes, 6
    for the input scales) decays by ``lr * weight_decay * f**2`` per step, as in
    RealMLP-TD.""",
    "learning_rate_init": """learning_rate_init : float, default=0.04 (classifier), 0.2 (regressor)
    The peak learning rate of the ``coslog4`` schedule (four cosine cycles on a log time
    scale). A hidden weight's rate is divided by the square root of its layer's inputs.""",
    "max_iter": """max_iter : int or "auto", default="auto"
    Epochs. ``"auto"`` plans about 512 optimizer steps: 96 epochs on up to about
    1,300 training rows, fewer on more (at least 16).""",
    "batch_size": """batch_size : int, default=256
    Rows per mini-batch, at most: the training rows are split into ``n // batch_size``
    batches of nearly equal size (one when there are fewer rows), so that no small last
    batch takes a full step.""",
    "label_smoothing": """label_smoothing : float in [0, 1], default=0.1
    Label smoothing of the cross-entropy (set 0 when probabilities must be calibrated
    as tightly as possible).""",
    "numeric_embedding": """numeric_embedding : {"pbld", "periodic", "piecewise_linear"} or None, default="pbld"
    How each numeric column enters the network (see
    :class:`~sknn_scratch.nn.NumericEmbedding`); None passes the scaled numbers as they
    are.""",
    "categorical_embedding_dim": """categorical_embedding_dim : int, default=8
    Size of the learned vector of each category of a column with more than 8 categories.
    Columns with fewer become one-hot columns (a column of two categories one column of
    +1 and -1), scaled and passed to the network without a numeric embedding.""",
    "categorical_features": """categorical_features : "from_dtype", array-like or None, default="from_dtype"
    Which columns are categorical: ``"from_dtype"`` takes DataFrame columns of dtype
    ``category``, ``string`` and ``bool``, ``object`` columns that hold more than numbers
    (and text columns of arrays); or the columns' names, indices or a boolean mask;
    None: none. Dates and durations are numbers of seconds.""",
    "validation_fraction": """validation_fraction : float in (0, 1), default=0.2
    Share of the rows held out (stratified for classification) to pick the best epoch,
    whose weights are kept; ``fit``'s ``X_val``, ``y_val`` replace it.""",
    "n_ensembles": """n_ensembles : int, default=1
    Networks trained, each with its own seed (held-out rows, initial weights, batches);
    their logits (classification) or predictions (regression) are averaged. With more
    than one, ``estimators_`` holds them (fitted estimators with ``n_ensembles=1``) and the
    other fitted attributes are the first one's. Ctrl-C ends the fit with the networks
    trained so far.""",
    "loss": """loss : str, (str, dict) or Criterion, default="squared_error"
    The regression loss, on the standardised target: ``"squared_error"``,
    ``"absolute_error"``, ``"huber"``, ``("quantile", {"quantiles": (0.1, 0.5, 0.9)})``
    or ``"poisson"`` (for counts: the target divided by its mean).""",
    "class_weight": """class_weight : dict, "balanced" or None, default=None
    Weights of the classes, multiplied into ``sample_weight``.""",
}
#: the fitted attributes' descriptions beyond the drop-in estimators'
ATTRIBUTES = {
    "classes_": """classes_ : ndarray of shape (n_classes,)
    The class labels.""",
    "out_activation_": """out_activation_ : str
    The output activation of the loss (softmax, logistic, identity, exp).""",
}


def document_estimators(classifier, regressor):
    """Fill the ``<<parameters>>`` and ``<<attributes>>`` markers of the two estimators'
    docstrings (see :func:`._docs.document`)."""
    for cls, first in ((classifier, ["classes_"]), (regressor, [])):
        order = [*first, *SHARED_ATTRIBUTES, "out_activation_"]
        document(cls, parameters=PARAMETERS, attributes=ATTRIBUTES, attribute_order=order)
