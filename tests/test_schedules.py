"""Learning-rate schedules: their values, the optimizer that owns them, the estimators'
``learning_rate=`` by name, and PyTorch's schedulers value by value (when installed)."""

import math
import pickle

import numpy as np
import pytest

from sknn_scratch import NumpyNetClassifier
from sknn_scratch.optim import SGD, Adam, schedules
from sknn_scratch.registry import SCHEDULES

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_every_schedule_is_registered_and_starts_where_it_should():
    assert set(SCHEDULES.names()) >= {"constant", "cosine", "one_cycle", "step", "flat_cos", "coslog4"}
    starts = {"constant": 1.0, "cosine": 1.0, "one_cycle": 1 / 25, "step": 1.0, "flat_cos": 1.0, "coslog4": 0.0}
    for name, start in starts.items():
        schedule = SCHEDULES.get(name)()
        assert schedule(0, 100) == pytest.approx(start), name
        values = [schedule(t, 100) for t in range(100)]
        assert all(0 <= v <= 1 + 1e-12 for v in values), name


def test_values_worked_out_by_hand():
    T = 10
    cosine = [0.5 * (1 + math.cos(math.pi * t / T)) for t in range(T)]
    assert [schedules.Cosine()(t, T) for t in range(T)] == pytest.approx(cosine)
    # warm-up over the first 20 %: 0, 0.5, then the cosine over the remaining 80 %
    warm = [schedules.Cosine(warmup=0.2)(t, T) for t in range(T)]
    assert warm[:2] == pytest.approx([0.0, 0.5]) and warm[2] == pytest.approx(1.0)
    assert warm[6] == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    assert [schedules.Cosine(min_factor=0.1)(T // 2, T)] == pytest.approx([0.1 + 0.9 * 0.5])
    assert [schedules.Step(step_size=0.3, gamma=0.5)(t, T) for t in (0, 2, 3, 6, 9)] == [1, 1, 0.5, 0.25, 0.125]
    flat = [schedules.FlatCos(flat=0.5)(t, T) for t in range(T)]
    assert flat[:6] == [1.0] * 6 and flat[8] == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.6)))
    coslog = schedules.CosLog(n_cycles=4)
    for t, expected in [(0.25, 0.5 * (1 - math.cos(2 * math.pi * math.log2(1 + 15 * 0.25))))]:
        assert coslog.factor(t) == pytest.approx(expected)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: schedules.Cosine(warmup=1.0), "warmup"),
        (lambda: schedules.Cosine(min_factor=-0.1), "min_factor"),
        (lambda: schedules.OneCycle(pct_start=0.0), "pct_start"),
        (lambda: schedules.OneCycle(div_factor=0.5), "div_factor"),
        (lambda: schedules.Step(step_size=0), "step_size"),
        (lambda: schedules.Step(gamma=0), "gamma"),
        (lambda: schedules.FlatCos(flat=1), "flat"),
        (lambda: schedules.CosLog(n_cycles=0), "n_cycles"),
    ],
)
def test_bad_settings_are_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_the_optimizer_owns_the_schedule_and_sets_its_rate_before_each_step():
    x, g = np.ones(3), np.ones(3)
    opt = SGD(x, g, learning_rate=0.2, schedule=schedules.Cosine(), total_steps=4)
    rates = []
    for _ in range(4):
        opt.step()
        rates.append(opt.learning_rate)
    assert rates == pytest.approx([0.2 * schedules.Cosine()(t, 4) for t in range(4)])
    assert opt.learning_rate_init == 0.2
    # MLP's two schedules react to the end of an epoch and to a plateau
    opt = SGD(np.ones(1), np.ones(1), learning_rate=0.5, schedule=schedules.InvScaling(0.5))
    opt.end_epoch(99)
    assert opt.learning_rate == pytest.approx(0.05)
    opt = SGD(np.ones(1), np.ones(1), learning_rate=1e-6, schedule=schedules.Adaptive())
    assert opt.plateau() == (True, "Learning rate too small. Stopping.")
    assert Adam(np.ones(1), np.ones(1)).plateau() == (True, "Stopping.")


@pytest.mark.parametrize(
    "spec", ["cosine", ("cosine", {"warmup": 0.1}), "one_cycle", "step", "flat_cos", "coslog4", schedules.Cosine()]
)
def test_the_estimators_take_a_schedule_by_name_pair_or_instance(spec):
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    est = NumpyNetClassifier(hidden_layer_sizes=(8,), learning_rate=spec, learning_rate_init=0.01, max_iter=6)
    est.set_params(batch_size=50, random_state=0).fit(X, y)
    schedule = spec if not isinstance(spec, (str, tuple)) else None
    name, kwargs = (spec, {}) if isinstance(spec, str) else spec if isinstance(spec, tuple) else (None, None)
    expected = schedule if schedule is not None else SCHEDULES.get(name)(**kwargs)
    steps_per_epoch = 3
    # the rate recorded per epoch is that of the epoch's last step
    want = [0.01 * expected(steps_per_epoch * (e + 1) - 1, 18) for e in range(6)]
    np.testing.assert_allclose(est.learning_rate_curve_, want, rtol=1e-12)
    assert pickle.loads(pickle.dumps(est)).predict(X).shape == (150,)


def test_a_learning_rate_callback_and_a_schedule_are_refused_together():
    from sklearn.datasets import load_iris

    from sknn_scratch.callbacks import ReduceLROnPlateau

    X, y = load_iris(return_X_y=True)
    est = NumpyNetClassifier(hidden_layer_sizes=(8,), learning_rate="cosine", callbacks=ReduceLROnPlateau())
    with pytest.raises(ValueError, match="use learning_rate='constant'"):
        est.fit(X, y)


# -- PyTorch's schedulers, value by value -----------------------------------------------------
def _torch_rates(make_scheduler, steps, lr=1.0):
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=lr)
    scheduler = make_scheduler(torch, optimizer)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(rates)


@pytest.mark.parametrize("T", [7, 40])
def test_cosine_equals_torchs_cosine_annealing(T):
    theirs = _torch_rates(lambda torch, opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=T), T)
    ours = [schedules.Cosine()(t, T) for t in range(T)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-12)
    theirs = _torch_rates(lambda torch, opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T, eta_min=0.1), T)
    np.testing.assert_allclose([schedules.Cosine(min_factor=0.1)(t, T) for t in range(T)], theirs, rtol=1e-6)


@pytest.mark.parametrize("T, pct, div, final", [(20, 0.3, 25.0, 1e4), (57, 0.25, 10.0, 100.0), (5, 0.5, 10.0, 100.0)])
def test_one_cycle_equals_torchs_one_cycle(T, pct, div, final):
    def make(torch, opt):
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=1.0, total_steps=T, pct_start=pct, div_factor=div, final_div_factor=final
        )

    theirs = _torch_rates(make, T)
    ours = [schedules.OneCycle(pct_start=pct, div_factor=div, final_div_factor=final)(t, T) for t in range(T)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("T, fraction, gamma", [(20, 0.25, 0.5), (30, 0.1, 0.9)])
def test_step_equals_torchs_step(T, fraction, gamma):
    size = round(fraction * T)
    theirs = _torch_rates(lambda torch, opt: torch.optim.lr_scheduler.StepLR(opt, step_size=size, gamma=gamma), T)
    np.testing.assert_allclose([schedules.Step(fraction, gamma)(t, T) for t in range(T)], theirs, rtol=1e-6)


def test_flat_cos_and_coslog4_equal_realmlps_when_its_package_is_installed():
    scheduling = pytest.importorskip("pytabkit.models.training.scheduling")
    coslog = scheduling.CoslogFunc(4)
    for t in np.linspace(0, 1, 33):
        assert schedules.CosLog(4).factor(t) == pytest.approx(float(coslog(t)), abs=1e-12)
