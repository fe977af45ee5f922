"""Where training runs: one device, several (``MirroredStrategy``) or several machines
(``MultiWorkerMirroredStrategy``), on the engines TensorFlow users already run.

``--strategy``:

* ``auto`` (default): one device, or ``MirroredStrategy`` over the GPUs when more than one is visible;
* ``mirrored``: every local GPU; on a machine without GPUs, ``CHARLM_CPU_REPLICAS`` (default 2)
  logical CPU devices, which is how the tests check the data-parallel path;
* ``multi-worker``: ``MultiWorkerMirroredStrategy`` across processes or machines, configured by
  the standard ``TF_CONFIG`` environment variable (see docs/scaling.md).

Every strategy trains with the same step (:class:`charlm.trainer.loop.Trainer`): each replica
takes its own rows of the global batch, gradients are summed over replicas, and the chief
(worker 0) is the only process that writes to the model store. Decisions that must be the same
everywhere (validation perplexity, early stopping, the time limit) are taken by the chief and
shared with :meth:`Cluster.agree`, a collective all-reduce, so no worker can drift.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from charlm.errors import CharlmError, ConfigError
from charlm.spec import Spec, from_env, parse_json

STRATEGIES = ("auto", "mirrored", "multi-worker")
#: Seconds a collective operation may wait for a peer before the run is declared broken.
DEFAULT_TIMEOUT = 300
#: ``CHARLM_COLLECTIVE_TIMEOUT``: that wait, in seconds.
COLLECTIVE_TIMEOUT = Spec(float, 1.0, 86_400.0)
#: ``CHARLM_CPU_REPLICAS``: logical CPU devices of a mirrored run on a machine without GPUs.
CPU_REPLICAS = Spec(int, 1, 64)


class WorkerLostError(CharlmError):
    """A peer of a multi-worker run stopped answering (killed, crashed, network gone)."""


@dataclass
class Cluster:
    """A strategy and this process's place in it."""

    strategy: Any
    name: str = "auto"
    worker: int = 0
    workers: int = 1

    @property
    def is_chief(self) -> bool:
        return self.worker == 0

    @property
    def replicas(self) -> int:
        return int(self.strategy.num_replicas_in_sync)

    def agree(self, values: np.ndarray | list[float]) -> np.ndarray:
        """The chief's ``values`` on every worker (others' arguments are ignored).

        A no-op with one worker; otherwise one small all-reduce in which only the
        chief's first replica contributes, so every worker continues with the same
        numbers and therefore takes the same decisions.
        """
        arr = np.asarray(values, dtype=np.float64)
        if self.workers == 1:
            return arr
        import tensorflow as tf

        chief = self.is_chief

        def contribution(ctx):
            first = chief and ctx.replica_id_in_sync_group == 0
            return tf.constant(arr if first else np.zeros_like(arr))

        with self.guard():
            per_replica = self.strategy.experimental_distribute_values_from_function(contribution)
            return np.asarray(self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None))

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Turn a collective that failed because a peer is gone into :class:`WorkerLostError`.

        Every TensorFlow call that talks to the other workers can meet a peer that
        was killed, crashed, or stopped on bad input before the run began (building
        the model broadcasts its initial weights; each step and :meth:`agree`
        all-reduce): whichever it is, the run ends with one line, not a traceback.
        """
        if self.workers == 1:
            yield
            return
        import tensorflow as tf

        try:
            yield
        except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
                tf.errors.InternalError, tf.errors.AbortedError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise WorkerLostError(
                "a worker of this multi-worker run stopped answering (killed, or stopped with an error: see its "
                f"output); the run is abandoned and nothing was saved ({first[:160]})"
            ) from None


def _cpu_replicas(tf, n: int) -> None:
    """Split the CPU into ``n`` logical devices for a mirrored run on a machine without GPUs."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError:  # TensorFlow already initialised its devices: use what there is
        pass


def _tf_config() -> tuple[int, int]:
    """(this worker's index, number of workers) from ``TF_CONFIG``.

    Raises:
        ConfigError: TF_CONFIG is missing or not a worker cluster.
    """
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ConfigError("--strategy multi-worker needs the TF_CONFIG environment variable (see docs/scaling.md)")
    config = parse_json(raw, "TF_CONFIG")
    try:
        workers = config["cluster"]["worker"]
        task = config["task"]
        if task["type"] != "worker" or not isinstance(workers, list) or not workers:
            raise ValueError("task type must be 'worker'")
        index = int(task["index"])
        if not 0 <= index < len(workers):
            raise ValueError(f"task index {index} is not in the cluster")
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"TF_CONFIG is not a usable worker cluster ({exc})") from None
    return index, len(workers)


def make_cluster(name: str = "auto") -> Cluster:
    """The strategy ``name`` (see the module docstring), created before any other TensorFlow work.

    Raises:
        ConfigError: an unknown strategy, a multi-worker run without a usable TF_CONFIG, or an
            unusable CHARLM_COLLECTIVE_TIMEOUT / CHARLM_CPU_REPLICAS (checked before TensorFlow starts).
    """
    if name not in STRATEGIES:
        raise ConfigError(f"strategy must be one of {', '.join(STRATEGIES)} (got {name!r})")
    worker, workers = _tf_config() if name == "multi-worker" else (0, 1)
    timeout = from_env("CHARLM_COLLECTIVE_TIMEOUT", COLLECTIVE_TIMEOUT, float(DEFAULT_TIMEOUT))
    cpu_replicas = from_env("CHARLM_CPU_REPLICAS", CPU_REPLICAS, 2)
    from charlm.tf_quiet import quiet_tensorflow

    quiet_tensorflow()
    import tensorflow as tf

    if name == "multi-worker":
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout)
        return Cluster(tf.distribute.MultiWorkerMirroredStrategy(communication_options=options), name, worker,
                       workers)
    gpus = tf.config.list_physical_devices("GPU")
    if name == "mirrored":
        if not gpus:
            _cpu_replicas(tf, cpu_replicas)
            devices = [d.name for d in tf.config.list_logical_devices("CPU")]
            # CPU replicas reduce on one device (the GPU default, NCCL, does not apply).
            return Cluster(tf.distribute.MirroredStrategy(devices=devices,
                                                          cross_device_ops=tf.distribute.ReductionToOneDevice()),
                           name)
        return Cluster(tf.distribute.MirroredStrategy(), name)
    if len(gpus) > 1:
        return Cluster(tf.distribute.MirroredStrategy(), name)
    return Cluster(tf.distribute.get_strategy(), name)
