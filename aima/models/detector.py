"""Open-vocabulary object detection (OWLv2 / OWL-ViT through transformers) for restraint objects.

The detector looks for each label of :data:`RESTRAINT_QUERIES` (handcuffs, cable ties, rope,
tape, chain, gag, blindfold) in a batch of frames and returns, per frame, the boxes that score at
least ``threshold``: label, box ``[x, y, width, height]`` in the pixels of the frame it was given,
and score. Overlapping boxes of one label are reduced by non-maximum suppression, and at most
``max_per_frame`` boxes are kept per frame (highest scores first).

The model is a hub id (the gpu profile's default is :data:`GPU_DETECTOR_MODEL`) or a local
directory with a saved ``Owlv2ForObjectDetection`` / ``OwlViTForObjectDetection`` and its
processor; ``config.json`` says which. Weights load on first use, float16 on CUDA.

OWLv2's processor pads every picture to a square at its bottom and right before resizing, so its
relative boxes belong to that square: its post-processing, given the picture's height and width,
scales them by the longest side (OWL-ViT, which stretches instead, by height and width); boxes
are then clipped to the picture, and those left without area dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from PIL import Image

from aima.errors import ConfigError
from aima.models.weights import transformers_model_id
from aima.models.base import Model

GPU_DETECTOR_MODEL = "google/owlv2-base-patch16-ensemble"
NO_DETECTOR_REASON = "no restraint detector configured"
RESTRAINT_QUERIES: dict[str, str] = {
    "handcuffs": "a photo of handcuffs",
    "cable ties": "a photo of cable ties",
    "rope": "a photo of a rope",
    "tape": "a photo of duct tape",
    "chain": "a photo of a chain",
    "gag": "a photo of a gag in a mouth",
    "blindfold": "a photo of a blindfold",
}
"""Detector label -> the text query the model is given."""
ARCHITECTURES = {"owlv2": "Owlv2ForObjectDetection", "owlvit": "OwlViTForObjectDetection"}


@dataclass(frozen=True)
class Detection:
    label: str
    box: tuple[float, float, float, float]  # x, y, width, height in the frame's pixels
    score: float


class RestraintDetector(Model):
    """What the ``detect-restraints`` stage calls: ``detect(images)`` -> detections per image."""

    kind: ClassVar[str] = "detector"
    configured: ClassVar[bool] = True

    def __init__(self, model: str, *, threshold: float = 0.2, batch_size: int = 4,
                 nms_iou: float = 0.3, max_per_frame: int = 20,
                 hf_token: str | None = None) -> None:
        super().__init__()
        self.model = model
        self.threshold = threshold
        self.batch_size = batch_size
        self.nms_iou = nms_iou
        self.max_per_frame = max_per_frame
        self._hf_token = hf_token
        self._model: Any = None
        self._processor: Any = None
        self._device = "cpu"

    @property
    def model_id(self) -> str:
        return transformers_model_id(self.model)

    @property
    def parameters(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "queries": RESTRAINT_QUERIES,
                "nms_iou": self.nms_iou, "max_per_frame": self.max_per_frame}

    def _load(self) -> None:
        import torch
        import transformers

        path = Path(self.model).expanduser()
        source = str(path) if path.is_dir() else self.model
        config = transformers.AutoConfig.from_pretrained(source, token=self._hf_token)
        architecture = ARCHITECTURES.get(config.model_type)
        if architecture is None:
            raise ConfigError("AIMA_RESTRAINT_DETECTOR_MODEL",
                              f"{self.model!r} is a {config.model_type!r} model; expected OWLv2 "
                              "(owlv2) or OWL-ViT (owlvit)")
        cuda = torch.cuda.is_available()
        self._device = "cuda" if cuda else "cpu"
        model_class = getattr(transformers, architecture)
        self._model = model_class.from_pretrained(
            source, token=self._hf_token, dtype=torch.float16 if cuda else torch.float32,
        ).to(self._device).eval()
        self._processor = transformers.AutoProcessor.from_pretrained(source, token=self._hf_token)

    def detect(self, images: list[Image.Image]) -> list[list[Detection]]:
        """The detections in each image, ``batch_size`` images at a time."""
        self.load()
        found: list[list[Detection]] = []
        for start in range(0, len(images), self.batch_size):
            found += self._detect(images[start:start + self.batch_size])
        return found

    def _detect(self, images: list[Image.Image]) -> list[list[Detection]]:
        import torch

        labels = list(RESTRAINT_QUERIES)
        queries = [RESTRAINT_QUERIES[label] for label in labels]
        pictures = [image.convert("RGB") for image in images]
        inputs = self._processor(text=[queries] * len(pictures), images=pictures,
                                 return_tensors="pt").to(self._device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self._model.dtype)
        with torch.inference_mode():
            outputs = self._model(**inputs)
        outputs.logits, outputs.pred_boxes = outputs.logits.float(), outputs.pred_boxes.float()
        # (height, width): OWLv2's post-processing scales by the padded square's side itself
        results = self._processor.image_processor.post_process_object_detection(
            outputs, threshold=self.threshold, target_sizes=[(p.height, p.width) for p in pictures])
        return [self._frame(result, picture.size, labels)
                for result, picture in zip(results, pictures)]

    def _frame(self, result: dict[str, Any], size: tuple[int, int],
               labels: list[str]) -> list[Detection]:
        import torch

        width, height = size
        boxes = result["boxes"].cpu()
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height)
        scores, indices = result["scores"].cpu(), result["labels"].cpu()
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        keep = torch.nonzero(area > 0).flatten()
        kept: list[Detection] = []
        for label_index in indices[keep].unique().tolist():
            chosen = keep[indices[keep] == label_index]
            for i in _nms(boxes[chosen], scores[chosen], self.nms_iou, self.max_per_frame):
                x0, y0, x1, y1 = (round(float(v), 1) for v in boxes[chosen[i]])
                kept.append(Detection(labels[label_index], (x0, y0, round(x1 - x0, 1),
                                                            round(y1 - y0, 1)),
                                      round(float(scores[chosen[i]]), 4)))
        kept.sort(key=lambda d: -d.score)
        return kept[:self.max_per_frame]


class NoDetector(RestraintDetector):
    """No restraint detector is configured: the stage is skipped, and says so."""

    configured: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__("none")

    @property
    def model_id(self) -> str:
        return "none"

    def _load(self) -> None:
        raise RuntimeError(NO_DETECTOR_REASON)


def _nms(boxes: Any, scores: Any, iou: float, limit: int) -> list[int]:
    """Indices (into ``boxes``, corners format) kept by greedy non-maximum suppression, at most
    ``limit`` of them, highest scores first."""
    kept: list[int] = []
    for i in scores.argsort(descending=True).tolist():
        if len(kept) == limit:
            break
        if all(_iou(boxes[i], boxes[j]) <= iou for j in kept):
            kept.append(i)
    return kept


def _iou(a: Any, b: Any) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = float(width * height)
    union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - inter
    return inter / union if union > 0 else 0.0

