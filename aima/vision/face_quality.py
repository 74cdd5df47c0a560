"""How usable a detected face is for telling persons apart: size, sharpness and pose.

Each aspect scores 0 (useless) to 1 (good); the quality is the weakest of the three, so a score
says what limits the face. The bounds were measured with dlib's 128-d embedding on the astronaut
photo (how far the embedding of a degraded copy drifts from the sharp, large original; the same
person is usually under 0.6 apart):

- size (box side in pixels): 45 px drifts by 0.19, 37 px by 0.29; scored 0 at 24 px, 1 at 64 px;
- sharpness (variance of the Laplacian of the aligned 150 x 150 grey chip): the sharp face has
  ~200, a Gaussian blur of 1 px ~26 (drift 0.22), 2 px ~7 (drift 0.38), 3 px ~4 (drift 0.48);
  scored on a log scale, 0 at 5 and 1 at 50, so the default threshold 0.3 sits at ~10;
- pose, from the landmarks: the nose's sideways offset from the middle of the eyes, in eye
  distances, measured along the eye line (0 when looking straight on; turning the head moves it
  towards one eye), scored 0 at 0.5; and the eye line's tilt, which alignment undoes, costs only
  past 30 degrees (0 at 75).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

Point = tuple[float, float]

SIZE_ZERO, SIZE_FULL = 24.0, 64.0
SHARPNESS_ZERO, SHARPNESS_FULL = 5.0, 50.0
YAW_ZERO = 0.5
TILT_FREE, TILT_ZERO = 30.0, 75.0


@dataclass(frozen=True)
class FaceQuality:
    score: float  # min(size, sharpness, pose)
    size: float
    sharpness: float
    pose: float
    side_px: int
    laplacian_var: float
    yaw_offset: float  # nose offset from the eyes' middle, in eye distances (signed)
    tilt_deg: float  # eye line angle (signed)

    def as_dict(self) -> dict:
        return {"score": round(self.score, 3), "size": round(self.size, 3),
                "sharpness": round(self.sharpness, 3), "pose": round(self.pose, 3),
                "side_px": self.side_px, "laplacian_var": round(self.laplacian_var, 1),
                "yaw_offset": round(self.yaw_offset, 3), "tilt_deg": round(self.tilt_deg, 1)}


def face_quality(box: tuple[int, int, int, int], chip: np.ndarray, eye_left: Point,
                 eye_right: Point, nose: Point) -> FaceQuality:
    side = int(min(box[2], box[3]))
    size = _ramp(side, SIZE_ZERO, SIZE_FULL)
    variance = laplacian_variance(chip)
    sharpness = _ramp(math.log(max(variance, 1e-6)), math.log(SHARPNESS_ZERO),
                      math.log(SHARPNESS_FULL))
    yaw, tilt = pose_from_landmarks(eye_left, eye_right, nose)
    pose = min(1.0 - _ramp(abs(yaw), 0.0, YAW_ZERO), 1.0 - _ramp(abs(tilt), TILT_FREE, TILT_ZERO))
    return FaceQuality(min(size, sharpness, pose), size, sharpness, pose, side, variance, yaw, tilt)


def laplacian_variance(chip: np.ndarray) -> float:
    """Variance of the Laplacian of the chip's grey levels (0-255): low means blurred."""
    rgb = np.asarray(chip, dtype=np.float64)
    grey = rgb @ np.array([0.299, 0.587, 0.114]) if rgb.ndim == 3 else rgb
    return float(ndimage.laplace(grey).var())


def pose_from_landmarks(eye_left: Point, eye_right: Point, nose: Point) -> tuple[float, float]:
    """``(yaw offset, tilt in degrees)``: the nose's offset from the middle of the eyes along the
    eye line, in eye distances, and the angle of the eye line."""
    dx, dy = eye_right[0] - eye_left[0], eye_right[1] - eye_left[1]
    distance = math.hypot(dx, dy)
    if distance < 1e-6:
        return 1.0, 0.0
    middle = ((eye_left[0] + eye_right[0]) / 2, (eye_left[1] + eye_right[1]) / 2)
    along = ((nose[0] - middle[0]) * dx + (nose[1] - middle[1]) * dy) / distance
    return along / distance, math.degrees(math.atan2(dy, dx))


def _ramp(value: float, zero: float, full: float) -> float:
    return float(min(1.0, max(0.0, (value - zero) / (full - zero))))
