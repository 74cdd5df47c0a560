"""ECAPA-TDNN speaker embeddings (SpeechBrain's ``spkrec-ecapa-voxceleb``) in plain PyTorch.

The network and its features are written out here, layer for layer as SpeechBrain 1.x defines
them (``speechbrain.lobes.models.ECAPA_TDNN``, ``speechbrain.lobes.features.Fbank``), so that the
published checkpoint loads with ``strict=True`` without SpeechBrain, which needs torchaudio (and
torchaudio pairs only with an older torch here, FACTS.md). Only inference: no dropout, batch
normalisation in eval mode, whole-utterance statistics (every clip of a batch has one length).

Features: 80 log-mel filterbanks of the power spectrum (25 ms Hamming windows every 10 ms, 400
point FFT, centred, SpeechBrain's triangular filters, 80 dB dynamic range), minus their mean over
the utterance. Output: a 192-dimensional embedding; the cosine of two says how alike the voices
are (the model was trained on VoxCeleb 1+2: 7205 speakers, about 0.8 % EER on VoxCeleb1-O).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SAMPLE_RATE = 16_000
N_FFT = 400
HOP = 160
N_MELS = 80
EMBEDDING_DIM = 192


class _Conv1d(nn.Module):
    """SpeechBrain's Conv1d: "same" length through reflect padding; weights under ``conv``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1):
        super().__init__()
        self.pad = dilation * (kernel_size - 1) // 2
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad:
            x = F.pad(x, (self.pad, self.pad), mode="reflect")
        return self.conv(x)


class _BatchNorm1d(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.BatchNorm1d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)


class _TDNNBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int):
        super().__init__()
        self.conv = _Conv1d(in_channels, out_channels, kernel_size, dilation)
        self.norm = _BatchNorm1d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(torch.relu(self.conv(x)))


class _Res2NetBlock(nn.Module):
    def __init__(self, channels: int, scale: int, kernel_size: int, dilation: int):
        super().__init__()
        self.scale = scale
        width = channels // scale
        self.blocks = nn.ModuleList(
            [_TDNNBlock(width, width, kernel_size, dilation) for _ in range(scale - 1)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = []
        previous = None
        for index, part in enumerate(torch.chunk(x, self.scale, dim=1)):
            if index == 0:
                current = part
            elif index == 1:
                current = self.blocks[0](part)
            else:
                current = self.blocks[index - 1](part + previous)
            outputs.append(current)
            previous = current
        return torch.cat(outputs, dim=1)


class _SEBlock(nn.Module):
    def __init__(self, channels: int, se_channels: int):
        super().__init__()
        self.conv1 = _Conv1d(channels, se_channels, 1)
        self.conv2 = _Conv1d(se_channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = torch.relu(self.conv1(x.mean(dim=2, keepdim=True)))
        return torch.sigmoid(self.conv2(squeezed)) * x


class _SERes2NetBlock(nn.Module):
    def __init__(self, channels: int, kernel_size: int, dilation: int):
        super().__init__()
        self.tdnn1 = _TDNNBlock(channels, channels, 1, 1)
        self.res2net_block = _Res2NetBlock(channels, 8, kernel_size, dilation)
        self.tdnn2 = _TDNNBlock(channels, channels, 1, 1)
        self.se_block = _SEBlock(channels, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.se_block(self.tdnn2(self.res2net_block(self.tdnn1(x)))) + x


class _AttentiveStatisticsPooling(nn.Module):
    def __init__(self, channels: int, attention_channels: int = 128):
        super().__init__()
        self.tdnn = _TDNNBlock(channels * 3, attention_channels, 1, 1)
        self.conv = _Conv1d(attention_channels, channels, 1)

    @staticmethod
    def _statistics(x: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = (weights * x).sum(dim=2)
        variance = (weights * (x - mean.unsqueeze(2)).pow(2)).sum(dim=2)
        return mean, variance.clamp(min=1e-12).sqrt()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = x.shape[-1]
        uniform = torch.full_like(x[:, :1, :], 1.0 / frames)
        mean, std = self._statistics(x, uniform)
        context = torch.cat(
            [x, mean.unsqueeze(2).expand(-1, -1, frames), std.unsqueeze(2).expand(-1, -1, frames)],
            dim=1,
        )
        attention = torch.softmax(self.conv(torch.tanh(self.tdnn(context))), dim=2)
        mean, std = self._statistics(x, attention)
        return torch.cat((mean, std), dim=1).unsqueeze(2)


class EcapaTdnn(nn.Module):
    """ECAPA-TDNN with SpeechBrain's parameter names (channels 1024 x 4 + 3072, 192-d output)."""

    def __init__(self) -> None:
        super().__init__()
        channels = [1024, 1024, 1024, 1024, 3072]
        kernels, dilations = [5, 3, 3, 3, 1], [1, 2, 3, 4, 1]
        self.blocks = nn.ModuleList(
            [_TDNNBlock(N_MELS, channels[0], kernels[0], dilations[0])]
            + [_SERes2NetBlock(channels[i], kernels[i], dilations[i]) for i in (1, 2, 3)]
        )
        self.mfa = _TDNNBlock(channels[1] * 3, channels[-1], kernels[-1], dilations[-1])
        self.asp = _AttentiveStatisticsPooling(channels[-1])
        self.asp_bn = _BatchNorm1d(channels[-1] * 2)
        self.fc = _Conv1d(channels[-1] * 2, EMBEDDING_DIM, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``features``: (batch, frames, 80) normalised filterbanks -> (batch, 192)."""
        x = features.transpose(1, 2)
        outputs = []
        for block in self.blocks:
            x = block(x)
            outputs.append(x)
        x = self.mfa(torch.cat(outputs[1:], dim=1))
        return self.fc(self.asp_bn(self.asp(x))).squeeze(2)


class Fbank(nn.Module):
    """SpeechBrain's ``Fbank(n_mels=80)`` followed by sentence mean normalisation."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hamming_window(N_FFT), persistent=False)
        self.register_buffer("filters", _triangular_filters(), persistent=False)

    def forward(self, wavs: torch.Tensor) -> torch.Tensor:
        """``wavs``: (batch, samples) at 16 kHz -> (batch, frames, 80)."""
        spectrum = torch.stft(
            wavs, N_FFT, HOP, N_FFT, window=self.window, center=True, pad_mode="constant",
            return_complex=True,
        )
        power = spectrum.real.pow(2) + spectrum.imag.pow(2)  # (batch, bins, frames)
        mel = torch.matmul(power.transpose(1, 2), self.filters)
        decibels = 10.0 * torch.log10(mel.clamp(min=1e-10))
        floor = decibels.amax(dim=(-2, -1), keepdim=True) - 80.0
        decibels = torch.maximum(decibels, floor)
        return decibels - decibels.mean(dim=1, keepdim=True)


def _triangular_filters() -> torch.Tensor:
    """(201 bins, 80 mels): triangles centred on mel-spaced frequencies from 0 to 8 kHz."""

    def to_mel(hz: float) -> float:
        return 2595.0 * math.log10(1.0 + hz / 700.0)

    mels = torch.linspace(to_mel(0.0), to_mel(SAMPLE_RATE / 2), N_MELS + 2)
    hz = 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    band = (hz[1:] - hz[:-1])[:-1]
    central = hz[1:-1]
    frequencies = torch.linspace(0, SAMPLE_RATE // 2, N_FFT // 2 + 1)
    slope = (frequencies.unsqueeze(0) - central.unsqueeze(1)) / band.unsqueeze(1)
    filters = torch.clamp(torch.minimum(slope + 1.0, 1.0 - slope), min=0.0)
    return filters.transpose(0, 1).contiguous()
