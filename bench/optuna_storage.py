"""Optuna's per-trial bookkeeping cost on its SQLite storage, for `npm run bench:storage`.

The same workload tune's side measures: per trial, 10 suggest_* calls
(RandomSampler), 50 report() calls, then the trial is told complete. No
training. Prints one JSON object: {"trials": N, "ms_per_trial": X, "version": V}.

Run with Debian's interpreter (python3-optuna): /usr/bin/python3 bench/optuna_storage.py DB N
"""
import json
import sys
import time

import optuna


def objective(trial):
    for i in range(5):
        trial.suggest_float(f"f{i}", 1e-4, 1.0, log=(i % 2 == 0))
    for i in range(3):
        trial.suggest_int(f"i{i}", 1, 600)
    trial.suggest_categorical("c0", ["relu", "elu", "tanh"])
    trial.suggest_categorical("c1", ["sgd", "adam"])
    for step in range(50):
        trial.report(1.0 / (step + 1), step)
    return 0.5


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=f"sqlite:///{path}", sampler=optuna.samplers.RandomSampler(seed=0))
    start = time.perf_counter()
    study.optimize(objective, n_trials=n)
    elapsed = time.perf_counter() - start
    print(json.dumps({"trials": n, "ms_per_trial": elapsed * 1000 / n, "version": optuna.__version__}))


if __name__ == "__main__":
    main()
