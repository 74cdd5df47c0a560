"""Case triage: what an investigator sorts out before looking at anything.

- :mod:`aima.triage.phash`: perceptual hashes of images and keyframes, and their distances;
- :mod:`aima.triage.stacks`: near-duplicate stacks of a case's images and videos;
- :mod:`aima.triage.capture`: when and where a picture or a video was made (EXIF, QuickTime).

Plain Python, no store and no Prefect: the preprocess stage and the ``near-duplicates`` case
stage call these, and so do the tests and ``bench/bench_near_duplicates.py``.
"""
