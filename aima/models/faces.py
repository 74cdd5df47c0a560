"""Face models: a detector (box, five landmarks, aligned chip) and an embedder, as one ``faces``
model.

The embedded profile runs dlib from the prebuilt ``dlib-bin`` wheel with the weights of the
``face-recognition-models`` package (CC0), on CPU and offline:

- :class:`DlibHogDetector`: dlib's HOG frontal face detector, its 5-point shape predictor (the
  corners of both eyes and the base of the nose) and ``dlib.get_face_chip`` for alignment
  (150 x 150, eyes level);
- :class:`DlibResNetEmbedder`: dlib's ResNet face descriptor, 128 dimensions, compared by
  Euclidean distance (the same person is usually under 0.6 apart).

RetinaFace is the design's detector of choice; the only offline copy (the ``retinaface``
package, FACTS.md) is a TensorFlow graph that needs TensorFlow to convert to ONNX, which this
project does not install. Detector and embedder are therefore separate, swappable parts behind
:class:`FaceModel`: a RetinaFace (ONNX) detector or a stronger embedder by hub id (ArcFace, for
the gpu profile) is one more class with the same methods, and the stored results are keyed by
the model id, so results of different models never mix.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, Protocol

import numpy as np

from aima.models.base import Model

Point = tuple[float, float]

DETECT_SIDE = 1600
"""Frames whose longest side is larger are searched at this size (boxes are mapped back; the
landmarks and the chip come from the full-size frame)."""

UPSAMPLE = 1
"""dlib's HOG window is 80 px; upsampling the frame once finds faces down to ~40 px."""

DETECT_THRESHOLD = 0.2
"""HOG score a detection needs. dlib's own default (0) also keeps the mission patch on the
astronaut photo (score 0.12); on the upscaled ``lfw_subset`` faces 0.2 loses 2 of 100."""

CHIP_SIZE = 150
CHIP_PADDING = 0.25  # dlib's face_recognition convention for its ResNet


@dataclass(frozen=True)
class DetectedFace:
    """One face found in a frame, in the frame's pixel coordinates."""

    box: tuple[int, int, int, int]  # x, y, width, height
    score: float
    landmarks: tuple[Point, ...]  # as the detector gives them (see its ``landmark_scheme``)
    eye_left: Point  # centre of the eye on the image's left
    eye_right: Point
    nose: Point
    chip: np.ndarray  # aligned face, CHIP_SIZE x CHIP_SIZE x 3, uint8 RGB


class FaceDetector(Protocol):
    model_id: str
    landmark_scheme: str

    def load(self) -> None: ...

    def detect(self, image: np.ndarray) -> list[DetectedFace]: ...


class FaceEmbedder(Protocol):
    model_id: str
    dimension: int

    def load(self) -> None: ...

    def embed(self, chips: Sequence[np.ndarray]) -> np.ndarray: ...


def _weights() -> Any:
    with warnings.catch_warnings():  # face_recognition_models imports pkg_resources
        warnings.simplefilter("ignore")
        import face_recognition_models

    return face_recognition_models


class DlibHogDetector:
    """dlib's HOG frontal detector + 5-point landmarks + aligned chips."""

    landmark_scheme = ("dlib-5: outer and inner corner of the eye on the image's right, outer and "
                       "inner corner of the eye on the image's left, base of the nose")

    def __init__(self, *, upsample: int = UPSAMPLE, threshold: float = DETECT_THRESHOLD,
                 detect_side: int = DETECT_SIDE):
        self.upsample, self.threshold, self.detect_side = upsample, threshold, detect_side
        self.model_id = f"dlib-{version('dlib-bin')}-hog"
        self._detector: Any = None
        self._predictor: Any = None

    @property
    def parameters(self) -> dict[str, Any]:
        return {"upsample": self.upsample, "threshold": self.threshold,
                "detect_side": self.detect_side}

    def load(self) -> None:
        if self._detector is None:
            import dlib

            self._predictor = dlib.shape_predictor(
                _weights().pose_predictor_five_point_model_location())
            self._detector = dlib.get_frontal_face_detector()

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        import dlib

        self.load()
        image = np.ascontiguousarray(image, dtype=np.uint8)
        height, width = image.shape[:2]
        scale = min(1.0, self.detect_side / max(height, width))
        small = image if scale == 1.0 else _resize(image, scale)
        rects, scores, _ = self._detector.run(small, self.upsample, self.threshold)
        found = []
        for rect, score in sorted(zip(rects, scores, strict=True),
                                  key=lambda pair: (pair[0].top(), pair[0].left())):
            full = dlib.rectangle(int(rect.left() / scale), int(rect.top() / scale),
                                  int(rect.right() / scale), int(rect.bottom() / scale))
            x0, y0 = max(full.left(), 0), max(full.top(), 0)
            x1, y1 = min(full.right(), width - 1), min(full.bottom(), height - 1)
            if x1 <= x0 or y1 <= y0:
                continue
            shape = self._predictor(image, full)
            points = tuple((float(p.x), float(p.y)) for p in shape.parts())
            found.append(DetectedFace(
                box=(x0, y0, x1 - x0 + 1, y1 - y0 + 1), score=float(score), landmarks=points,
                eye_left=_mean(points[2:4]), eye_right=_mean(points[0:2]), nose=points[4],
                chip=dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING)))
        return found


class DlibResNetEmbedder:
    """dlib's ResNet face descriptor (128-d), computed on aligned chips."""

    dimension = 128

    def __init__(self) -> None:
        self.model_id = "dlib-resnet-v1"
        self._net: Any = None

    def load(self) -> None:
        if self._net is None:
            import dlib

            self._net = dlib.face_recognition_model_v1(_weights().face_recognition_model_location())

    def embed(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.load()
        batch = [np.ascontiguousarray(chip, dtype=np.uint8) for chip in chips]
        return np.asarray(self._net.compute_face_descriptor(batch), dtype=np.float32)


class FaceModel(Model):
    """A face detector and a face embedder, loaded lazily together."""

    kind = "faces"

    def __init__(self, detector: FaceDetector, embedder: FaceEmbedder):
        super().__init__()
        self.detector, self.embedder = detector, embedder

    @classmethod
    def dlib(cls) -> FaceModel:
        return cls(DlibHogDetector(), DlibResNetEmbedder())

    @property
    def model_id(self) -> str:
        return f"{self.detector.model_id}+{self.embedder.model_id}"

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(getattr(self.detector, "parameters", {}))

    @property
    def dimension(self) -> int:
        return self.embedder.dimension

    @property
    def landmark_scheme(self) -> str:
        return self.detector.landmark_scheme

    def _load(self) -> None:
        self.detector.load()
        self.embedder.load()

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        self.load()
        return self.detector.detect(image)

    def embed(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        self.load()
        return self.embedder.embed(chips)


def _mean(points: Sequence[Point]) -> Point:
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    from PIL import Image

    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
