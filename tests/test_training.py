import numpy as np

from dlnet import model as net
from dlnet.training import TrainConfig, fit, set_determinism


def toy_data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    slope = rng.uniform(-0.5, 0.0, size=(n, 1))
    t_in, t_out = np.linspace(-1, 0, 20), np.linspace(0.05, 0.5, 10)
    return (slope * t_in).astype(np.float32), (slope * t_out).astype(np.float32)


def train_once(seed, epochs=6, teacher=None, patience=None, built_before=0):
    set_determinism(seed, 1)
    m = net.LiquidNet(net.student_config(4, 16, 16, 8, input_len=20, output_len=10))
    for _ in range(built_before):   # other models loaded in the same process draw random numbers
        net.LiquidNet(net.student_config(8, 16, 16, 8, input_len=20, output_len=10))
    hist, best = fit(m, TrainConfig(epochs=epochs, batch_size=16, seed=seed, patience=patience),
                     toy_data(), toy_data(32, 1), span=1.0, teacher_train=teacher,
                     log=lambda s: None)
    return m, hist, best


def test_training_lowers_the_loss_and_keeps_the_best_validation_epoch():
    _, hist, best = train_once(0)
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    val = [h["val_loss"] for h in hist]
    assert best == int(np.argmin(val)) + 1


def test_same_seed_same_numbers_other_seed_other_numbers():
    _, a, _ = train_once(3)
    _, b, _ = train_once(3)
    _, c, _ = train_once(4)
    assert [h["val_loss"] for h in a] == [h["val_loss"] for h in b]
    assert [h["val_loss"] for h in a] != [h["val_loss"] for h in c]


def test_distillation_uses_the_lambda_schedule():
    _, hist, _ = train_once(0, epochs=3, teacher=toy_data()[1] * 0)
    assert [round(h["lambda"], 3) for h in hist] == [0.1, 0.5, 0.9]


def test_training_does_not_depend_on_what_the_process_built_before():
    _, a, _ = train_once(3)
    _, b, _ = train_once(3, built_before=2)
    assert [h["val_loss"] for h in a] == [h["val_loss"] for h in b]


def test_early_stopping_is_the_full_run_cut_short_at_the_patience():
    _, full, _ = train_once(0, epochs=40)
    _, short, best = train_once(0, epochs=40, patience=2)
    assert len(short) < len(full)
    without_time = [{k: v for k, v in h.items() if k != "seconds"} for h in full]
    assert [{k: v for k, v in h.items() if k != "seconds"} for h in short] == \
        without_time[:len(short)]
    val = [h["val_loss"] for h in short]
    assert best == int(np.argmin(val)) + 1 and len(short) - best == 2
