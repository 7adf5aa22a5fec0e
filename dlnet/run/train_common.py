"""What the teacher, student and recovery rules share: scaled arrays and the training config."""

import numpy as np

from dlnet.training import TrainConfig, predict_scaled


def scaled(split, scaler):
    return scaler.transform(split.inputs).astype(np.float32), \
        scaler.scale_targets(split.x, split.y).astype(np.float32)


def train_config(training, seed, epochs=None, distill=None):
    """TrainConfig of the training section; `distill`, the students' distillation settings
    (dlnet.config.student_settings), turns on the distillation schedule."""
    return TrainConfig(epochs=epochs or training["epochs"], batch_size=training["batch_size"],
                       lr=training["lr"], weight_decay=training["weight_decay"],
                       clip=training["clip"], patience=training["patience"], seed=seed,
                       **(distill or {}))


def teacher_targets(teacher, x_scaled):
    return predict_scaled(teacher, x_scaled).astype(np.float32)


def seed_logs(log, seeds):
    """One log function per seed: the job's log, its lines marked with the seed where a job
    trains several."""
    if len(seeds) == 1:
        return [log]
    return [lambda message, seed=seed: log(f"seed {seed}: {message}") for seed in seeds]
