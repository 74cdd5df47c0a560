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
distinct photos of scikit-image are 16 or more apart (bench/bench_near_duplicates.py). A flat
picture (one colour, a black frame) has no structure for the DCT to describe, so its hash is
noise: it is marked ``flat`` and never matched.

64 bits describe only the layout of a picture. Where a picture has little detail, different
pictures share it: two pages of different text on plain paper, with their lines in the same
places, are 2 to 10 bits apart. So a picture also gets a **detail hash** (``detail``, unless
:func:`picture_hash` is told not to): a 1,024-bit pHash (the 32x32 lowest DCT frequencies of a
128x128 copy) of the same seven crops, 1.8 kB of hexadecimal digits in the stored form. It sees
words and strokes, not just lines and blocks: generated pages of text on paper (aima/eval) are
354 or more of its bits apart even where their 64-bit hashes are 2 apart, distinct photos 442 or
more, while the altered copies above are at most 178 apart (a 30 % brighter copy of a photo that
saturates; JPEG quality 30: 160). :func:`confirmed_pairs` keeps a pair of close pictures only
when their detail hashes are at most :data:`DETAIL_MAX_DISTANCE` apart (halfway between), over
the same whole, mirrored and cropped pairs; :func:`same_picture` asks both questions of one
pair. A picture without a detail hash (hashed before there was one, a video's 1 s signature
frames) is judged on its 64-bit hash alone. The price: copies turned by 5 degrees or cropped by
20 %, which the 64-bit hash alone sometimes finds, are no longer matched (their details no
longer line up; bench/bench_near_duplicates.py).

:func:`distances` computes the same distance for whole arrays of hashes at once (numpy), which
:mod:`aima.triage.stacks` uses to compare every picture of a case with every other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
#: what the detail hash is; stored with it, so that a detail hash of another kind is not compared
DETAIL_ALGORITHM = "imagehash-phash1024+mirror+crops90"
DETAIL_SIDE = 32  # the detail hash keeps the 32x32 lowest frequencies of a 128x128 copy
DETAIL_BITS = DETAIL_SIDE * DETAIL_SIDE
#: close pictures whose detail hashes are further apart than this are different pictures
DETAIL_MAX_DISTANCE = 266
_DETAIL_WORDS = DETAIL_BITS // 64
#: (a's, b's) hashes compared, as indexes into whole, mirror, crops: the pairs of :func:`distance`
_ALIGNMENTS = ((0, 0), (0, 1), *((0, 2 + k) for k in range(CROPS)),
               *((1, 2 + k) for k in range(CROPS)), *((2 + k, 0) for k in range(CROPS)),
               *((2 + k, 1) for k in range(CROPS)))
_DETAIL_PAIRS = 20_000  # pairs whose detail hashes are compared at once (36 MB of uint64)


@dataclass(frozen=True)
class PictureHash:
    """The perceptual hashes of one picture (see the module docstring)."""

    hash: int
    mirror: int
    crops: tuple[int, ...]
    flat: bool = False
    #: the 1,024-bit detail hashes of the whole picture, its mirror and the five crops, or None
    detail: tuple[int, ...] | None = None

    def as_dict(self) -> dict:
        """JSON form: hashes as 16 hexadecimal digits (detail hashes as 256)."""
        data = {"hash": _hex(self.hash), "mirror": _hex(self.mirror),
                "crops": [_hex(c) for c in self.crops], "flat": self.flat}
        if self.detail is not None:
            data["detail"] = {"algorithm": DETAIL_ALGORITHM,
                              "hashes": [f"{d:0{DETAIL_BITS // 4}x}" for d in self.detail]}
        return data

    @classmethod
    def from_dict(cls, data: dict) -> PictureHash:
        """The hash :meth:`as_dict` wrote; a detail hash of another algorithm is left out."""
        detail = data.get("detail") or {}
        return cls(hash=int(data["hash"], 16), mirror=int(data["mirror"], 16),
                   crops=tuple(int(c, 16) for c in data["crops"]), flat=bool(data["flat"]),
                   detail=(tuple(int(d, 16) for d in detail["hashes"])
                           if detail.get("algorithm") == DETAIL_ALGORITHM else None))


def picture_hash(image: Image.Image, *, detail: bool = True) -> PictureHash:
    """The :class:`PictureHash` of an (upright) picture; with ``detail``, its detail hashes too
    (about 10 ms more on a 512-pixel picture; a video's 1 s signature frames go without)."""
    grey = image.convert("L")
    if max(grey.size) > WORKING_SIDE:
        grey = grey.copy()
        grey.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.LANCZOS)
    small = np.asarray(grey.resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    whole, mirror = grey, ImageOps.mirror(grey)
    crops = [grey.crop(box) for box in crop_boxes(*grey.size)]
    return PictureHash(
        hash=_phash(whole), mirror=_phash(mirror), crops=tuple(_phash(c) for c in crops),
        flat=bool(small.std() < FLAT_STD),
        detail=(tuple(_phash(p, DETAIL_SIDE) for p in (whole, mirror, *crops)) if detail
                else None),
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


def detail_distance(a: PictureHash, b: PictureHash) -> int | None:
    """Detail hash bits apart, the fewest over the pairs of :func:`distance`; None when one of
    the two has no detail hash."""
    if a.detail is None or b.detail is None:
        return None
    return min((a.detail[i] ^ b.detail[j]).bit_count() for i, j in _ALIGNMENTS)


def same_picture(a: PictureHash, b: PictureHash, max_distance: int) -> int | None:
    """The :func:`distance` of two pictures when they show the same picture (at most
    ``max_distance`` apart, and their detail hashes agree where both have one), else None."""
    bits = distance(a, b)
    if bits > max_distance or not confirmed_pairs([a, b], [(0, 1)]):
        return None
    return bits


def confirmed_pairs(hashes: Sequence[PictureHash], pairs: Iterable[tuple[int, int]],
                    max_detail: int = DETAIL_MAX_DISTANCE) -> dict[tuple[int, int], int | None]:
    """The pairs ``(i, j)`` of close ``hashes`` that the detail hashes confirm, with their
    :func:`detail_distance`: at most ``max_detail`` apart, or not comparable (None: one of the
    two has no detail hash)."""
    pairs = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    has = np.array([h.detail is not None for h in hashes], dtype=bool)
    both = has[pairs[:, 0]] & has[pairs[:, 1]]
    kept: dict[tuple[int, int], int | None] = {(int(i), int(j)): None for i, j in pairs[~both]}
    checked = pairs[both]
    if len(checked):
        words = _detail_words(hashes, has)
        for start in range(0, len(checked), _DETAIL_PAIRS):
            part = checked[start:start + _DETAIL_PAIRS]
            a, b = words[part[:, 0]], words[part[:, 1]]  # (pairs, 7, 16)
            best = np.full(len(part), DETAIL_BITS, dtype=np.int64)
            for i, j in _ALIGNMENTS:
                bits = _popcount(np.bitwise_xor(a[:, i], b[:, j])).sum(axis=1, dtype=np.int64)
                np.minimum(best, bits, out=best)
            kept.update({(int(i), int(j)): int(bits)
                         for (i, j), bits in zip(part, best, strict=True) if bits <= max_detail})
    return dict(sorted(kept.items()))


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


def close_pairs(table: HashArray, max_distance: int) -> dict[tuple[int, int], int]:
    """Every pair ``(i, j)``, ``i < j``, of ``table`` at most ``max_distance`` apart, with its
    distance.

    A block of rows at a time (memory stays bounded), and each block one way only: ``a`` whole or
    mirrored against ``b`` whole, mirrored and cropped. The other way round (``b`` against ``a``'s
    crops) is the same comparison seen from ``b``'s row, so the full distance of every pair (the
    smaller of the two ways) is covered at little more than half the work of :func:`distances`.
    """
    pairs: dict[tuple[int, int], int] = {}
    rows = max(1, _BLOCK // max(1, len(table)))
    for start in range(0, len(table), rows):
        part = table.rows(start, start + rows)
        block = _uncomparable(_one_way(part, table), part, table)
        for i, j in zip(*np.nonzero(block <= max_distance), strict=True):
            bits, i, j = int(block[i, j]), start + int(i), int(j)
            if i != j:
                pair = (min(i, j), max(i, j))
                pairs[pair] = min(bits, pairs.get(pair, bits))
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


def _phash(image: Image.Image, side: int = 8) -> int:
    return int(str(imagehash.phash(image, hash_size=side)), 16)


def _detail_words(hashes: Sequence[PictureHash], has: np.ndarray) -> np.ndarray:
    """(len(hashes), 7, 16) uint64: each detail hash in 64-bit words (zeros where none)."""
    words = np.zeros((len(hashes), 2 + CROPS, _DETAIL_WORDS), dtype=np.uint64)
    for n in np.flatnonzero(has):
        raw = b"".join(d.to_bytes(DETAIL_BITS // 8, "big") for d in hashes[n].detail)
        words[n] = np.frombuffer(raw, dtype=">u8").reshape(2 + CROPS, _DETAIL_WORDS)
    return words


def _hex(value: int) -> str:
    return f"{value:016x}"


def _popcount(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(values)
    as_bytes = values[..., None].view(np.uint8)  # numpy 1.26: count bits byte by byte
    return _BYTE_BITS[as_bytes].sum(axis=-1)


_BYTE_BITS = np.array([bin(n).count("1") for n in range(256)], dtype=np.uint8)
