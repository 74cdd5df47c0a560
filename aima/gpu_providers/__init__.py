"""Rented GPUs: one small client per provider behind one :class:`~.base.Compute` protocol.

Laid out like dstack's backends, with no Prefect in here (the workers in ``aima/workers/`` and
the credential blocks in ``aima/blocks/providers.py`` sit on top):

=======================  ======================================================================
``base.py``              ``Offer``, ``InstanceSpec``, ``Instance``, the ``Compute`` protocol and
                         the errors (``ProviderError`` with ``transient``, ``NoCapacity``, ...)
``transport.py``         HTTP with the key in a header, retries with backoff for timeouts, 5xx
                         and 429 only, and creates that never start two machines
``selection.py``         ``OfferPolicy`` (strategy and filters), ``choose`` and ``launch`` (the
                         next offer when the first cannot be rented)
``gpus.py``              GPU throughput by model, for the ``fastest-available`` strategy
``runpod/``, ``vastai/`` ``models.py`` (wire types), ``api_client.py`` (the API's calls),
                         ``compute.py`` (the provider as a ``Compute``)
``cli.py``               ``aima gpu offers``
=======================  ======================================================================

:func:`open_compute` makes a provider's ``Compute`` from its credentials.
"""

from __future__ import annotations

from aima.gpu_providers.base import PROVIDERS, Compute, Credentials


def open_compute(provider: str, credentials: Credentials, *, timeout_s: float = 30.0,
                 retries: int = 3, backoff_s: float = 1.0) -> Compute:
    """The ``Compute`` of ``provider`` (``runpod`` or ``vastai``)."""
    if provider == "runpod":
        from aima.gpu_providers.runpod.compute import RunPodCompute as compute_class
    elif provider == "vastai":
        from aima.gpu_providers.vastai.compute import VastAICompute as compute_class
    else:
        raise ValueError(f"unknown GPU provider {provider!r}; expected one of "
                         f"{', '.join(PROVIDERS)}")
    return compute_class(credentials, timeout_s=timeout_s, retries=retries, backoff_s=backoff_s)
