"""keras-tuner's own distributed mode for `charlm-train tune`: a chief runs the oracle, workers run trials.

The roles come from keras-tuner's environment variables, so a search is spread the way any
keras-tuner user spreads one:

* ``KERASTUNER_TUNER_ID``: ``chief`` for the oracle process, any other id (``tuner0``...) for a worker;
* ``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT``: where the chief listens.

The chief checks and saves the search's settings, serves the oracle (Hyperband) over gRPC while
it reports the trials the workers run, and when the oracle has nothing more to schedule it trains
the winner and stores it: it is the only process that writes a model. Workers wait for the
chief's settings, run the trials they are given, and stop when the oracle says so; a worker
started later joins the running search. Workers and chief share the search folder (Hyperband
continues a promoted trial from the checkpoint another worker wrote): on one machine it is the
store's ``tuning/NAME``; across machines it must be on a shared file system (see docs/scaling.md).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from charlm.errors import ConfigError
from charlm.spec import Spec, from_env

ROLE_VARS = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
PORT = Spec(int, 1, 65_535)
#: How long a worker waits for the chief to write the search's settings.
SPEC_WAIT = 120.0


def role() -> str | None:
    """``"chief"``, ``"worker"``, or None when keras-tuner's distributed variables are not set.

    Raises:
        ConfigError: only some of the variables are set, or the port is not a port number.
    """
    given = [v for v in ROLE_VARS if os.environ.get(v)]
    if not given:
        return None
    if len(given) != len(ROLE_VARS):
        missing = ", ".join(v for v in ROLE_VARS if v not in given)
        raise ConfigError(f"a distributed search needs {', '.join(ROLE_VARS)}; {missing} not set")
    from_env("KERASTUNER_ORACLE_PORT", PORT, None)
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def wait_for(path: Path, timeout: float = SPEC_WAIT) -> None:
    """A worker waits for the chief to write the search's settings.

    Raises:
        ConfigError: they did not appear in time (the chief is not running, or another folder).
    """
    deadline = time.monotonic() + timeout
    while not path.is_file():
        if time.monotonic() >= deadline:
            raise ConfigError(f"no search settings at {path} after {timeout:.0f}s: start the chief "
                              "(KERASTUNER_TUNER_ID=chief) with the same --name and CHARLM_HOME first")
        time.sleep(0.5)


def serve(tuner: Any, spec: Any, report: Callable[[Any], None], *, deadline: float | None = None,
          poll: float = 0.5) -> None:
    """The chief: serve ``tuner``'s oracle to the workers until the search is over.

    Reports the trials as the workers start, advance and end them (the oracle hears about every
    epoch). At ``deadline`` (``time.monotonic()``), the oracle stops scheduling new trials; the
    ones running finish. Returns when every worker that joined has been told to stop.
    """
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_chief

    oracle = tuner.oracle
    tuner.save()
    address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer = oracle_chief.OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    if not server.add_insecure_port(address):
        raise ConfigError(f"cannot serve the search at {address} (port in use, or not this machine's address)")
    server.start()
    watcher = _Watcher(oracle, spec, report)
    try:
        while True:
            time.sleep(poll)
            if deadline is not None and time.monotonic() >= deadline and oracle.max_trials != len(oracle.trials):
                oracle.max_trials = len(oracle.trials)  # nothing new is scheduled from now on
            watcher.check()
            if servicer.stop_triggered and oracle_chief.exit_chief(oracle):
                break
    finally:
        server.stop(grace=1)
        watcher.check()


def work(tuner: Any) -> None:
    """A worker: run the trials the chief's oracle hands out until it says the search is over.

    Raises:
        ConfigError: the chief stopped answering (it crashed, or was stopped with Ctrl-C).
    """
    import grpc

    try:
        tuner.search(verbose=0)
    except grpc.RpcError as exc:
        code = exc.code().name if hasattr(exc, "code") else "UNKNOWN"
        raise ConfigError(f"the chief of this distributed search stopped answering ({code}); restart it with "
                          "--resume, then restart the workers") from None


class _Watcher:
    """Turns what the oracle records into the events a local search reports."""

    def __init__(self, oracle: Any, spec: Any, report: Callable[[Any], None]):
        self.oracle, self.spec, self.report = oracle, spec, report
        self.started: set[str] = set(oracle.trials)  # trials of an earlier run are not news
        self.ended: set[str] = {i for i, t in oracle.trials.items() if t.status != "RUNNING"}
        self.steps: dict[str, int] = {}

    def check(self) -> None:
        from charlm.trainer import search_spec, tune

        trials = dict(self.oracle.trials)
        owners = {t.trial_id: tuner_id for tuner_id, t in dict(self.oracle.ongoing_trials).items()}
        for trial_id, trial in trials.items():
            values = trial.hyperparameters.values
            if trial_id not in self.started:
                self.started.add(trial_id)
                config = search_spec.config_from_values(values, self.spec)
                self.report(tune.TrialStarted(trial_id, config, values["tuner/epochs"],
                                              values["tuner/initial_epoch"], owners.get(trial_id, "")))
            objective = search_spec.OBJECTIVE
            history = trial.metrics.get_history(objective) if trial.metrics.exists(objective) else []
            for obs in history[self.steps.get(trial_id, 0):]:
                loss = _last(trial, "loss", obs.step)
                self.report(tune.TrialEpoch(trial_id, obs.step + 1, loss, float(obs.mean()), 0.0))
            self.steps[trial_id] = len(history)
            if trial.status != "RUNNING" and trial_id not in self.ended:
                self.ended.add(trial_id)
                best = self.oracle.get_best_trials(1)
                best_score = tune.score_of(best[0]) if best and best[0].status == "COMPLETED" else None
                self.report(tune.TrialEnded(trial_id, trial.status, tune.score_of(trial), best_score))


def _last(trial: Any, name: str, step: int) -> float:
    if not trial.metrics.exists(name):
        return float("nan")
    for obs in trial.metrics.get_history(name):
        if obs.step == step:
            return float(obs.mean())
    return float("nan")
