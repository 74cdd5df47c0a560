"""AIMA's Prefect worker types for rented GPUs: ``runpod`` and ``vastai``.

This module is the ``prefect.collections`` entry point: Prefect imports it when it looks up a
worker type, and importing it registers both workers, so that ``prefect work-pool create P
--type runpod`` and ``prefect worker start --pool P`` find them.

====================  ========================================================================
``configuration.py``  the pool's variables and the job configuration both types share
``base.py``           the worker both types share: rent, watch, end, set the run's state
``runpod.py``,        the two worker types (their defaults)
``vastai.py``
``watch.py``          when a machine must go: finished, cancelled, lost, over budget, past TTL
``environment.py``    what a machine's flow run gets in its environment (and never gets)
``cost.py``           each machine's actual cost recorded on its flow run, read back for reports
``orphans.py``        machines no flow run needs any more (the ``gpu-reaper`` flow's logic)
``pricing.py``        the price of the offer a pool would rent first, for the cost estimate
====================  ========================================================================
"""

from aima.workers.runpod import RunPodWorker
from aima.workers.vastai import VastAIWorker

__all__ = ["RunPodWorker", "VastAIWorker"]
