"""Benchmark of AIMA's faces (aima/stages/faces.py) and case persons (aima/stages/link_persons.py).

    .venv/bin/python bench/bench_faces.py      # about 2 minutes on 2 cores
    .venv/bin/python bench/bench_faces.py --parts clustering   # case persons only

1. Detection, on a labelled set built from photos scikit-image bundles (tests/vision/facegen.py):
   the 100 faces of ``lfw_subset`` enlarged to 60-150 px, four to a photo, on face-free
   backgrounds; its 100 non-face patches enlarged the same way (every detection there is false);
   14 face-free bundled photos; the astronaut photo (one face, and a mission patch that looks like
   one); and a video whose faces ffmpeg overlaid at known times and places, through the same
   keyframe extraction as preprocess. A detection is right when its box overlaps an unmatched true
   face with IoU >= 0.4. Printed: recall, precision, and the same for dlib's own defaults
   (threshold 0, the baseline, same run) and for no upsampling.
2. Speed: frames and faces per second for detection + landmarks + alignment + quality + embedding
   on CPU, on the labelled photos.
3. Case persons, on a generated case of 7 identities (each in 4 photos and 1-2 videos, two to a
   photo, 50-130 px, one identity from three different photos of one man) plus 10 faces seen
   once, through the real stages and stores.
   Printed: persons found vs identities (count error), purity (share of faces in a person that
   belong to its majority identity), coverage (faces of recurring identities that got a person)
   and faces seen once left unassigned, for the Immich-like rule with the default settings, and
   for two baselines in the same run: a plain distance threshold (dlib's 0.6, every pair closer is
   one person: connected components, no same-frame rule) and dlib's Chinese Whispers at 0.5.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from skimage import data  # noqa: E402

from aima.media.keyframes import iter_keyframes  # noqa: E402
from aima.models.faces import DlibHogDetector, DlibResNetEmbedder, FaceModel  # noqa: E402
from aima.pipeline.runner import run_media_stage  # noqa: E402
from aima.pipeline.sources import SourceFile  # noqa: E402
from aima.settings import Settings  # noqa: E402
from aima.stages.faces import FACE, STAGE as FACES  # noqa: E402
from aima.stages.ingest import ingest_file  # noqa: E402
from aima.stages.link_persons import link_face_persons  # noqa: E402
from aima.storage import open_stores  # noqa: E402
from aima.storage.cases import get_or_create_case  # noqa: E402
from aima.vision.face_quality import face_quality  # noqa: E402
from bench._result import print_result  # noqa: E402
from tests.vision import facegen  # noqa: E402
from tests.vision.facegen import IDENTITIES, Placed, iou  # noqa: E402

FACE_FREE = ("coffee", "chelsea", "rocket", "horse", "brick", "grass", "camera", "coins", "page",
             "text", "gravel", "logo", "hubble_deep_field", "immunohistochemistry")
SEEN_ONCE = (2, 3, 10, 14, 18, 22, 26, 50, 53, 15)  # lfw faces, hand-checked unlike the identities
SAME_MAN = (0, 36, 90)  # three photos of one man in lfw_subset
CORNERS = ((30, 30), (340, 30), (30, 210), (340, 210))


def lfw_patch(lfw: np.ndarray, index: int, side: int) -> Image.Image:
    grey = (lfw[index] * 255).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB").resize((side, side), Image.Resampling.BICUBIC)


def labelled_set(folder: Path) -> list[tuple[np.ndarray, list[tuple[int, int, int, int]]]]:
    """(picture, true boxes) pairs; see the module docstring."""
    rng = np.random.default_rng(11)
    lfw = data.lfw_subset()
    items = []
    for start in range(0, 200, 4):  # 0-99 faces, 100-199 non-faces
        picture = facegen.background(facegen.BACKGROUNDS[start // 4 % 6], (640, 400))
        boxes = []
        for offset, (x, y) in enumerate(CORNERS):
            side = int(rng.integers(60, 151))
            picture.paste(lfw_patch(lfw, start + offset, side), (x, y))
            if start + offset < 100:
                boxes.append((x, y, side, side))
        items.append((np.asarray(picture), boxes))
    for name in FACE_FREE:
        items.append((np.asarray(facegen.background(name, (600, 400))), []))
    items.append((data.astronaut(), [(175, 76, 91, 91)]))
    placed = facegen.write_video(folder / "detect.mp4", [
        ("rocket", [(7, 140, (60, 60)), (46, 100, (400, 200))]), ("horse", []),
        ("grass", [("astronaut", 160, (250, 100))]), ("chelsea", [(45, 90, (500, 40))])])
    for keyframe in iter_keyframes(folder / "detect.mp4"):
        shown = [p.box for p in placed if p.start_s <= keyframe.timestamp_s < p.end_s]
        items.append((np.asarray(keyframe.image.convert("RGB")), shown))
    return items


def score(found: list[list[tuple]], truth: list[list[tuple]]) -> tuple[float, float]:
    hits = total_found = total_true = 0
    for boxes, true in zip(found, truth, strict=True):
        left = list(true)
        for box in boxes:
            best = max(left, key=lambda t: iou(t, box), default=None)
            if best is not None and iou(best, box) >= 0.4:
                hits += 1
                left.remove(best)
        total_found += len(boxes)
        total_true += len(true)
    return hits / total_true, hits / max(total_found, 1)


def detection(folder: Path) -> dict[str, float]:
    items = labelled_set(folder)
    truth = [boxes for _, boxes in items]
    low = DlibHogDetector(threshold=-0.5)
    runs = {}
    for name, detector in (("upsample 1 (AIMA)", low), ("upsample 0", DlibHogDetector(
            upsample=0, threshold=-0.5))):
        detector.load()
        runs[name] = [[(d.box, d.score) for d in detector.detect(picture)] for picture, _ in items]
    print(f"detection: {sum(map(len, truth))} faces in {len(items)} pictures "
          f"({sum(1 for t in truth if not t)} without a face)\n")
    print("detector             threshold  recall  precision")
    rows = {}
    for name, found in runs.items():
        for threshold in (0.0, 0.2):
            kept = [[box for box, s in boxes if s >= threshold] for boxes in found]
            rows[(name, threshold)] = score(kept, truth)
            recall, precision = rows[(name, threshold)]
            print(f"{name:20} {threshold:9.1f}  {recall:6.3f}  {precision:9.3f}")
    ours, base = rows[("upsample 1 (AIMA)", 0.2)], rows[("upsample 1 (AIMA)", 0.0)]
    print(f"\nAIMA (upsample 1, threshold 0.2) / dlib default (threshold 0): recall "
          f"{ours[0] / base[0]:.2f}, precision {ours[1] / base[1]:.2f}\n")

    model = FaceModel(DlibHogDetector(), DlibResNetEmbedder())
    model.load()
    pictures = [picture for picture, _ in items[:50]]
    started, faces = time.perf_counter(), 0
    for picture in pictures:
        detected = model.detect(picture)
        chips = [d.chip for d in detected
                 if face_quality(d.box, d.chip, d.eye_left, d.eye_right, d.nose).score >= 0.3]
        model.embed(chips)
        faces += len(detected)
    elapsed = time.perf_counter() - started
    print(f"speed (CPU, 640 x 400 photos, detect + align + quality + embed): "
          f"{len(pictures) / elapsed:.1f} photos/s, {faces / elapsed:.1f} faces/s "
          f"({faces} faces in {elapsed:.1f} s)\n")
    return {"detection_recall": ours[0], "detection_precision": ours[1],
            "detection_recall_vs_default": ours[0] / base[0],
            "detection_precision_vs_default": ours[1] / base[1],
            "photos_per_s": len(pictures) / elapsed}


def generated_case(folder: Path) -> dict[str, list[Placed]]:
    """7 identities in 4 photos each (two per photo) and 2 videos, faces of 50 to 130 px, JPEG
    quality 55 to 85; and faces seen once. Identity ``0`` is three different photos of one man
    (``lfw_subset`` 0, 36 and 90, hand-checked; 0.38-0.45 apart), the others copies of one photo."""
    files: dict[str, list[Placed]] = {}
    ids = list(IDENTITIES)
    rng = np.random.default_rng(5)
    seen: dict[object, int] = {}

    def photo_of(identity):  # identity 0 shows a different photo each time
        seen[identity] = seen.get(identity, 0) + 1
        return SAME_MAN[seen[identity] % 3] if identity == 0 else identity

    for round_ in range(4):
        for number in range(0, len(ids), 2):
            pair = [ids[(number + round_) % len(ids)], ids[(number + round_ + 1) % len(ids)]]
            faces = [(photo_of(pair[0]), int(rng.integers(50, 131)), (40, 60)),
                     (photo_of(pair[1]), int(rng.integers(50, 131)), (400, 120))]
            name = f"photo-{round_}-{number}.jpg"
            files[name] = facegen.write_photo(folder / name, faces,
                                              quality=int(rng.integers(55, 86)), backdrop=facegen.BACKGROUNDS[(number + round_) % 6],
                                              variant=round_ * 10 + number)
    for number, identity in enumerate(SEEN_ONCE):
        name = f"once-{number}.jpg"
        files[name] = facegen.write_photo(folder / name, [(identity, 110, (250, 140))],
                                          backdrop=facegen.BACKGROUNDS[number % 6], variant=number)
    for video in range(2):
        segments = [(facegen.BACKGROUNDS[(s + video) % 6],
                     [(photo_of(ids[(s + video * 4) % len(ids)]), int(rng.integers(60, 131)),
                       (60 + 40 * s, 60))])
                    for s in range(4)]
        files[f"clip-{video}.mp4"] = facegen.write_video(folder / f"clip-{video}.mp4", segments)
    return files


def truth_of(stores, case_id, files) -> dict[str, object]:
    from aima.storage.models import MediaItem

    with stores.metadata.session() as session:
        names = {str(i.id): i.original_name for i in
                 session.query(MediaItem).filter_by(case_id=uuid.UUID(case_id))}
    found = {}
    for document in stores.documents.query(case_id, stage="faces"):
        for face in document.data["faces"]:
            shown = [p for p in files[names[document.media_id]]
                     if p.start_s is None or p.start_s <= face["timestamp_s"] < p.end_s]
            best = max(shown, key=lambda p: iou(p.box, tuple(face["box"])), default=None)
            identity = 0 if best and best.identity in SAME_MAN else best and best.identity
            found[face["id"]] = identity if best and iou(best.box, tuple(face["box"])) > 0.3 \
                else "false detection"
    return found


def judge(clusters: list[list[str]], truth: dict[str, object], embedded: set[str]) -> tuple:
    """One row: a person is a cluster of two faces or more (a lone face is unassigned, for every
    method alike)."""
    persons = [c for c in clusters if len(c) > 1]
    assigned = {f for c in persons for f in c}
    majority = sum(max(sum(1 for f in c if truth[f] == i) for i in {truth[f] for f in c})
                   for c in persons)
    recurring = [f for f in embedded if truth[f] in IDENTITIES]
    coverage = sum(1 for f in recurring if f in assigned) / max(1, len(recurring))
    once = [f for f in embedded if truth[f] in SEEN_ONCE]
    once_left = sum(1 for f in once if f not in assigned)
    return (len(persons), abs(len(persons) - len(IDENTITIES)), majority / max(len(assigned), 1),
            coverage, once_left, len(once))


def plain_threshold(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    parent = list(range(len(vectors)))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i
    for i in range(len(vectors)):
        for j in range(i + 1, len(vectors)):
            if np.linalg.norm(vectors[i] - vectors[j]) < threshold:
                parent[find(j)] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(vectors)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def clustering(folder: Path) -> dict[str, float]:
    import dlib

    files = generated_case(folder)
    model = facegen.face_model()
    with open_stores(Settings(data_dir=folder / "data")) as stores:
        case_id = str(get_or_create_case(stores.metadata, "bench").id)
        for name in files:
            media_id = ingest_file(stores, stores.settings, case_id,
                                   SourceFile(uri=str(folder / name), name=name)).media_id
            run_media_stage(stores, "preprocess", media_id)
            run_media_stage(stores, FACES, media_id, models={"faces": model}.get)
        truth = truth_of(stores, case_id, files)
        vectors = stores.vectors.fetch(FACE, model.model_id, case_id, model.dimension)
        ids = [v.ref for v in vectors]
        matrix = np.asarray([v.vector for v in vectors])
        print(f"case persons: {len(files)} files, {len(truth)} faces ({len(ids)} embedded, "
              f"{sum(1 for t in truth.values() if t == 'false detection')} false detections), "
              f"{len(IDENTITIES)} recurring identities, {len(SEEN_ONCE)} faces seen once\n")
        print("clustering                         persons  error  purity  coverage  once left")
        rows = {}
        for name, min_faces, distance in (("Immich-like 2 / 0.5 (AIMA default)", 2, 0.5),
                                          ("Immich-like 3 / 0.5", 3, 0.5)):
            document = link_face_persons(stores, case_id, model.model_id, model.dimension,
                                         min_faces=min_faces, max_distance=distance)
            rows[name] = [p["faces"] for p in document["persons"]]
        rows["plain threshold 0.6 (baseline)"] = [[ids[i] for i in g]
                                                  for g in plain_threshold(matrix, 0.6)]
        labels = dlib.chinese_whispers_clustering(
            [dlib.vector(list(map(float, v))) for v in matrix], 0.5)
        whispers: dict[int, list[str]] = {}
        for face_id, label in zip(ids, labels, strict=True):
            whispers.setdefault(label, []).append(face_id)
        rows["Chinese Whispers 0.5 (baseline)"] = list(whispers.values())
        scores = {}
        for name, clusters in rows.items():
            persons, error, purity, coverage, left, once = scores[name] = judge(
                clusters, truth, set(ids))
            print(f"{name:34} {persons:7d}  {error:5d}  {purity:6.3f}  {coverage:8.3f}  "
                  f"{left:4d}/{once}")
        ours, plain = scores["Immich-like 2 / 0.5 (AIMA default)"], scores[
            "plain threshold 0.6 (baseline)"]
        print(f"\nAIMA / plain threshold: purity {ours[2] / plain[2]:.2f}, faces seen once left "
              f"unassigned {ours[4] / max(plain[4], 1):.2f}, person-count error {ours[1]} vs "
              f"{plain[1]}")
    return {"purity_vs_plain_threshold": ours[2] / plain[2], "persons": ours[0],
            "person_count_error": ours[1], "purity": ours[2], "coverage": ours[3],
            "plain_threshold_count_error": plain[1]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="+", choices=("detection", "clustering"),
                        default=["detection", "clustering"], help="which parts to run")
    args = parser.parse_args(argv)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        if "detection" in args.parts:
            figures |= detection(Path(tmp))
        if "clustering" in args.parts:
            figures |= clustering(Path(tmp))
        print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if "purity_vs_plain_threshold" in figures:
        ratio, ratio_of = (figures.pop("purity_vs_plain_threshold"),
                           "person purity, AIMA / plain distance threshold 0.6")
    else:
        ratio, ratio_of = (figures.pop("detection_precision_vs_default"),
                           "detection precision, AIMA threshold 0.2 / dlib default 0")
    print_result(ratio, ratio_of, None, None, **figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
