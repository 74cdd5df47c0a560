"""The ``vastai`` worker type: each flow run on a Vast.ai instance rented for it.

``prefect work-pool create aima-gpu --type vastai`` makes a pool with :class:`VastAIVariables` as
its form; ``prefect worker start --pool aima-gpu`` runs :class:`VastAIWorker` (registered through
the ``prefect.collections`` entry point, module :mod:`aima.workers`). Everything but the defaults
is shared with RunPod (:mod:`aima.workers.base`): a Vast.ai pool may list ``runpod`` after
``vastai`` in ``providers`` to fall back to it.
"""

from __future__ import annotations

from pydantic import Field

from aima.gpu_providers.base import ProviderName
from aima.workers.base import GpuWorker
from aima.workers.configuration import PROVIDERS_HELP, GpuJobConfiguration, GpuVariables


class VastAIVariables(GpuVariables):
    providers: list[ProviderName] = Field(default=["vastai"], min_length=1,
                                          description=PROVIDERS_HELP)


class VastAIJobConfiguration(GpuJobConfiguration):
    providers: list[ProviderName] = Field(default=["vastai"], min_length=1)


class VastAIWorker(GpuWorker):
    """Runs each flow run on a Vast.ai GPU instance and destroys it with the run."""

    type = "vastai"
    job_configuration = VastAIJobConfiguration
    job_configuration_variables = VastAIVariables
    _description = ("Runs each flow run on a Vast.ai GPU instance rented for it (cheapest fitting "
                    "offer by default) and destroys the instance when the run ends, is cancelled "
                    "or reaches its budget.")
    _documentation_url = "https://docs.vast.ai/instances"
