"""Loopback stand-ins for the paid GPU APIs, for these tests and the GPU worker tests.

:class:`FakeRunPod` (GraphQL) and :class:`FakeVastAI` (REST) speak the providers' wire formats
(../shared/FACTS.md) on 127.0.0.1, keep a :class:`Ledger` of every instance with its billed
seconds, can run each instance's command as a local process with the given environment, and
inject faults (:mod:`tests.gpu_providers.fake_base` lists them)::

    with FakeRunPod(api_key="k", run_commands=True, workdir=tmp_path).start() as runpod: ...

or ``fake = FakeRunPod().start()`` ... ``fake.stop()``; ``fake.base_url`` is what the client's
``AIMA_RUNPOD_API_URL`` names.
"""

from tests.gpu_providers.fake_base import FakeProvider, Faults, Ledger, LedgerEntry
from tests.gpu_providers.fake_runpod import GPU_TYPES, FakeRunPod
from tests.gpu_providers.fake_vastai import OFFERS, FakeVastAI

__all__ = ["GPU_TYPES", "OFFERS", "FakeProvider", "FakeRunPod", "FakeVastAI", "Faults", "Ledger",
           "LedgerEntry"]
