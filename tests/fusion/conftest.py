"""One real analysed case for the stage tests: :mod:`tests.report.casegen`'s three files (a
talking video with faces, a photo of two faces, a printed notice), analysed once per session by
the embedded profile's real stages, with no language model (the tests bring their own)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from aima.settings import Settings
from aima.storage import Stores, open_stores
from tests.report.casegen import analyse_case


@dataclass
class AnalysedCase:
    stores: Stores
    case_id: str


@pytest.fixture(scope="session")
def analysed_case(tmp_path_factory) -> AnalysedCase:
    root = tmp_path_factory.mktemp("fusion-case")
    settings = Settings(data_dir=root / "data", model_cache_dir=root / "model-cache",
                        llm_enabled=False)
    with open_stores(settings) as stores:
        case = analyse_case(stores, root / "media")
        yield AnalysedCase(stores, str(case.id))
