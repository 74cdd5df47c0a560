"""The ``runpod`` worker type: each flow run on a RunPod pod rented for it.

``prefect work-pool create aima-gpu --type runpod`` makes a pool with :class:`RunPodVariables` as
its form; ``prefect worker start --pool aima-gpu`` runs :class:`RunPodWorker` (registered through
the ``prefect.collections`` entry point, module :mod:`aima.workers`). Everything but the defaults
is shared with Vast.ai (:mod:`aima.workers.base`): a RunPod pool may list ``vastai`` after
``runpod`` in ``providers`` to fall back to it.
"""

from __future__ import annotations

from pydantic import Field

from aima.gpu_providers.base import ProviderName
from aima.workers.base import GpuWorker
from aima.workers.configuration import PROVIDERS_HELP, GpuJobConfiguration, GpuVariables


class RunPodVariables(GpuVariables):
    providers: list[ProviderName] = Field(default=["runpod"], min_length=1,
                                          description=PROVIDERS_HELP)


class RunPodJobConfiguration(GpuJobConfiguration):
    providers: list[ProviderName] = Field(default=["runpod"], min_length=1)


class RunPodWorker(GpuWorker):
    """Runs each flow run on a RunPod GPU pod and terminates the pod with the run."""

    type = "runpod"
    job_configuration = RunPodJobConfiguration
    job_configuration_variables = RunPodVariables
    _description = ("Runs each flow run on a RunPod GPU pod rented for it (cheapest fitting "
                    "offer by default) and terminates the pod when the run ends, is cancelled "
                    "or reaches its budget.")
    _documentation_url = "https://docs.runpod.io/pods/overview"
