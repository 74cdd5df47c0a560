"""``aima gpu offers``: live GPU offers from RunPod and Vast.ai, in the order a pool would try them.

Mounted in :mod:`aima.cli` as ``app.add_typer(gpu_app, name="gpu")``. Keys come from the settings
or the Prefect blocks (:mod:`aima.blocks.providers`); a provider without a key, or one that does
not answer, is named on stderr and the other's offers are still listed.
"""

from __future__ import annotations

import enum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from aima.errors import AimaError
from aima.gpu_providers import PROVIDERS, open_compute
from aima.gpu_providers.selection import (
    STRATEGIES, Choice, OfferPolicy, choose, gather_offers,
)

gpu_app = typer.Typer(
    no_args_is_help=True, add_completion=False,
    help="Rented GPUs (RunPod, Vast.ai): live offers, and how a runpod or vastai pool would "
    "choose among them. Keys: AIMA_RUNPOD_API_KEY / AIMA_VASTAI_API_KEY or the Prefect blocks "
    "aima-runpod / aima-vastai.",
)

console = Console()
err_console = Console(stderr=True)


@gpu_app.callback()
def gpu() -> None:  # a group even with one command, so that it is always `aima gpu offers`
    pass


Provider = enum.Enum("Provider", {name: name for name in PROVIDERS}, type=str)
Strategy = enum.Enum("Strategy", {name: name for name in STRATEGIES}, type=str)
Cloud = enum.Enum("Cloud", {name: name for name in ("any", "secure", "community")}, type=str)


@gpu_app.command("offers")
def offers_command(
    min_vram: Annotated[int, typer.Option(min=0, help="Memory of each GPU, in GB, at least.")] = 0,
    gpu_count: Annotated[int, typer.Option(min=1, help="GPUs on one machine.")] = 1,
    provider: Annotated[list[Provider] | None, typer.Option(
        help="Ask only this provider; repeat for several (their order is provider-order's).",
    )] = None,
    max_price: Annotated[float | None, typer.Option(
        min=0, help="USD per hour for the whole machine, at most.")] = None,
    min_reliability: Annotated[float | None, typer.Option(
        min=0, max=1, help="The host's reliability (0-1), at least (Vast.ai publishes one).",
    )] = None,
    cloud: Annotated[Cloud, typer.Option(help="secure (datacenters), community or any.")] = (
        Cloud.any),
    interruptible: Annotated[bool, typer.Option(
        "--interruptible", help="Also list interruptible (spot/bid) rentals.")] = False,
    strategy: Annotated[Strategy, typer.Option(help="The order offers are tried in.")] = (
        Strategy.cheapest),
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 20,
) -> None:
    """List live offers that fit, best first by the strategy."""
    from aima.blocks.providers import provider_credentials, where_keys_come_from
    from aima.settings import load_settings

    policy = OfferPolicy(
        strategy=strategy.value, providers=tuple(p.value for p in provider or []) or PROVIDERS,
        min_vram_gb=min_vram, gpu_count=gpu_count, max_price_per_hour=max_price,
        min_reliability=min_reliability, cloud=cloud.value, interruptible=interruptible)
    try:
        settings = load_settings()
        computes = {}
        for name in policy.providers:
            credentials = provider_credentials(settings, name)
            if credentials is None:
                _note(f"{name}: no API key; set {where_keys_come_from(name)}")
                continue
            computes[name] = open_compute(name, credentials, timeout_s=settings.gpu_api_timeout_s,
                                          retries=settings.gpu_api_retries)
        if not computes:
            raise typer.Exit(2)
        try:
            offers, problems = gather_offers(computes, policy)
        finally:
            for compute in computes.values():
                compute.close()
    except AimaError as exc:
        _note(f"error: {exc}")
        raise typer.Exit(2) from None
    for name, problem in problems.items():
        _note(f"{name}: offers not read: {problem}")
    if len(problems) == len(computes):
        raise typer.Exit(1)
    choices = choose(offers, policy)
    if not choices:
        console.print("no offer fits these filters")
        return
    console.print(_table(choices[:limit], policy, len(choices)))


def _table(choices: list[Choice], policy: OfferPolicy, total: int) -> Table:
    shown = f"the first {len(choices)} of {total}" if total > len(choices) else f"{total}"
    table = Table(title=f"{shown} GPU offers, {policy.strategy} first", title_justify="left")
    for column in ("#", "provider", "GPU", "VRAM GB", "$/h", "rented", "on demand $/h",
                   "interruptible $/h", "reliability", "region", "cloud"):
        table.add_column(column, overflow="fold",
                         justify="right" if "$" in column or column in ("#", "VRAM GB") else "left")
    for number, choice in enumerate(choices, 1):
        offer = choice.offer
        table.add_row(
            str(number), offer.provider, f"{offer.gpu_count}x {offer.gpu_model}",
            str(offer.vram_gb), f"{choice.price_per_hour:.3f}",
            "interruptible" if choice.interruptible else "on demand",
            f"{offer.price_per_hour:.3f}",
            _price(offer.interruptible_price_per_hour),
            "-" if offer.reliability is None else f"{offer.reliability:.3f}",
            offer.region or "-", offer.cloud)
    return table


def _price(value: float | None) -> str:
    return "-" if not value else f"{value:.3f}"


def _note(text: str) -> None:
    err_console.print(text, highlight=False, soft_wrap=True, markup=False)
