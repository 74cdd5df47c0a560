"""Perceptual hashes of pictures, tolerant of mirroring and slight crops, and their distances.

A picture (an image, or a keyframe of a video) gets a :class:`PictureHash`: seven 64-bit pHashes
(``imagehash.phash``: the 8x8 lowest frequencies of the DCT of a 32x32 greyscale copy, each bit
above or below their median) of

- the whole picture (``hash``) and its mirror image (``mirror``);
- five crops that keep 90 % of each side: the centre and the four corners (``crops``).

Resizing, JPEG re-encoding and brightness changes move a pHash by a few bits; mirroring and
cropping move it by 10 to 26 bits (measured on scikit-image's photos), as far as two different
photos can be. :func:`distance` is therefore the smallest Hamming distance of these pairs::

    a.hash ~ b.hash       a.hash ~ b.mirror                  (same picture, or mirrored)
    a.hash ~ b.crops[k]   a.mirror ~ b.crops[k]              (a is a crop of b, or of b mirrored)
    b.hash ~ a.crops[k]   b.mirror ~ a.crops[k]              (b is a crop of a, or of a mirrored)

With it, copies resized, re-encoded at JPEG quality 30, cropped by 10 % (centred or from a
corner), brightened, darkened or mirrored are 0 to 8 bits from their original (median 0), while
distinct photos of scikit-image are 16 or more apart (bench/bench_near_duplicates.py). A flat picture (one colour, a black frame) has no structure for
the DCT to describe, so its hash is noise: it is marked ``flat`` and never matched.

:func:`distances` computes the same distance for whole arrays of hashes at once (numpy), which
:mod:`aima.triage.stacks` uses to compare every picture of a case with every other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image, ImageOps

#: what :func:`picture_hash` computes; stored with every hash so that a change shows
ALGORITHM = "imagehash-phash64+mirror+crops90"
BITS = 64
#: each crop keeps this fraction of the picture's width and of its height
CROP_KEEP = 0.9
CROPS = 5  # the centre and the four corners
#: a picture whose 32x32 greyscale copy varies less than this (standard deviation, 0-255) is flat
FLAT_STD = 2.0
#: the distance reported for a pair that cannot be compared (a flat picture): more than any
UNCOMPARABLE = BITS + 1
#: pictures are shrunk to this longest side before hashing; a 32x32 hash needs no more
WORKING_SIDE = 512
_BLOCK = 4_000_000  # pairs of pictures compared at once (32 MB of uint64 in the temporary array)


@dataclass(frozen=True)
class PictureHash:
    """The perceptual hashes of one picture (see the module docstring)."""

    hash: int
    mirror: int
    crops: tuple[int, ...]
    flat: bool = False

    def as_dict(self) -> dict:
        """JSON form: hashes as 16 hexadecimal digits."""
        return {"hash": _hex(self.hash), "mirror": _hex(self.mirror),
                "crops": [_hex(c) for c in self.crops], "flat": self.flat}

    @classmethod
    def from_dict(cls, data: dict) -> PictureHash:
        return cls(hash=int(data["hash"], 16), mirror=int(data["mirror"], 16),
                   crops=tuple(int(c, 16) for c in data["crops"]), flat=bool(data["flat"]))


def picture_hash(image: Image.Image) -> PictureHash:
    """The :class:`PictureHash` of an (upright) picture."""
    grey = image.convert("L")
    if max(grey.size) > WORKING_SIDE:
        grey = grey.copy()
        grey.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.LANCZOS)
    small = np.asarray(grey.resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    return PictureHash(
        hash=_phash(grey), mirror=_phash(ImageOps.mirror(grey)),
        crops=tuple(_phash(grey.crop(box)) for box in crop_boxes(*grey.size)),
        flat=bool(small.std() < FLAT_STD),
    )


def crop_boxes(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """The centre and the four corner crops that keep :data:`CROP_KEEP` of each side."""
    w, h = max(1, round(width * CROP_KEEP)), max(1, round(height * CROP_KEEP))
    x, y = (width - w) // 2, (height - h) // 2
    return [(x, y, x + w, y + h), (0, 0, w, h), (width - w, 0, width, h),
            (0, height - h, w, height), (width - w, height - h, width, height)]


def distance(a: PictureHash, b: PictureHash) -> int:
    """Bits apart: the fewest over whole, mirrored and cropped pairs; flat pictures never match."""
    return int(distances(HashArray.of([a]), HashArray.of([b]))[0, 0])


@dataclass(frozen=True)
class HashArray:
    """Many :class:`PictureHash` as numpy arrays (uint64), for :func:`distances`."""

    hash: np.ndarray  # (n,)
    mirror: np.ndarray  # (n,)
    crops: np.ndarray  # (n, 5)
    flat: np.ndarray  # (n,) bool

    @classmethod
    def of(cls, hashes: Sequence[PictureHash]) -> HashArray:
        def u64(values) -> np.ndarray:
            return np.array(values, dtype=np.uint64)

        return cls(hash=u64([h.hash for h in hashes]), mirror=u64([h.mirror for h in hashes]),
                   crops=u64([h.crops for h in hashes]).reshape(len(hashes), CROPS),
                   flat=np.array([h.flat for h in hashes], dtype=bool))

    def __len__(self) -> int:
        return len(self.hash)

    def rows(self, start: int, stop: int) -> HashArray:
        return HashArray(self.hash[start:stop], self.mirror[start:stop], self.crops[start:stop],
                         self.flat[start:stop])


def distances(a: HashArray, b: HashArray) -> np.ndarray:
    """The (len(a), len(b)) matrix of :func:`distance`; :data:`UNCOMPARABLE` where one is flat."""
    best = _one_way(a, b)
    for crop in a.crops.T:  # b is a crop of a, or a mirrored crop of a
        _fold(best, crop, b.hash)
        _fold(best, crop, b.mirror)
    return _uncomparable(best, a, b)


def close_pairs(table: HashArray, max_distance: int) -> set[tuple[int, int]]:
    """Every pair ``(i, j)``, ``i < j``, of ``table`` at most ``max_distance`` apart.

    A block of rows at a time (memory stays bounded), and each block one way only: ``a`` whole or
    mirrored against ``b`` whole, mirrored and cropped. The other way round (``b`` against ``a``'s
    crops) is the same comparison seen from ``b``'s row, so the full distance of every pair is
    covered at little more than half the work of :func:`distances`.
    """
    pairs: set[tuple[int, int]] = set()
    rows = max(1, _BLOCK // max(1, len(table)))
    for start in range(0, len(table), rows):
        part = table.rows(start, start + rows)
        block = _uncomparable(_one_way(part, table), part, table)
        for i, j in zip(*np.nonzero(block <= max_distance), strict=True):
            i = start + int(i)
            if i != j:
                pairs.add((min(i, int(j)), max(i, int(j))))
    return pairs


def _one_way(a: HashArray, b: HashArray) -> np.ndarray:
    best = np.full((len(a), len(b)), 255, dtype=np.uint8)
    for other in (b.hash, b.mirror, *b.crops.T):  # same picture, mirrored, or a crop of b
        _fold(best, a.hash, other)
    for crop in b.crops.T:  # a is a mirrored crop of b
        _fold(best, a.mirror, crop)
    return best


def _fold(best: np.ndarray, left: np.ndarray, right: np.ndarray) -> None:
    """``best = min(best, bits(left[:, None] ^ right[None, :]))``, in place."""
    np.minimum(best, _popcount(np.bitwise_xor(left[:, None], right[None, :])), out=best)


def _uncomparable(best: np.ndarray, a: HashArray, b: HashArray) -> np.ndarray:
    best = best.astype(np.int16)
    best[a.flat, :] = UNCOMPARABLE
    best[:, b.flat] = UNCOMPARABLE
    return best


def _phash(image: Image.Image) -> int:
    return int(str(imagehash.phash(image)), 16)


def _hex(value: int) -> str:
    return f"{value:016x}"


def _popcount(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(values)
    as_bytes = values[..., None].view(np.uint8)  # numpy 1.26: count bits byte by byte
    return _BYTE_BITS[as_bytes].sum(axis=-1)


_BYTE_BITS = np.array([bin(n).count("1") for n in range(256)], dtype=np.uint8)
