"""Known-file hash sets: lists of md5/sha1/sha256 (and phash) hashes every case is matched against.

Investigators set aside files already known by hash before they review anything: ``known-benign``
files (operating-system files, stock pictures; e.g. the NSRL RDS) skip the analysis stages and
are listed in the report as such; ``known-relevant`` files (e.g. a Project VIC / CAID export) are
flagged. Hash sets hold hashes only, never biometrics or case data, and are shared by every case.

- :mod:`aima.hashsets.formats`: readers of the list formats (text, CSV, NSRL RDS, VICS JSON);
- :mod:`aima.hashsets.store`: import, list, remove, and the look-up at ingest;
- :mod:`aima.hashsets.cli`: ``aima hashsets import|list|remove``.
"""

from aima.hashsets.formats import HashListError
from aima.hashsets.store import (
    HashSetError, HashSetInfo, benign_reason, import_file, list_sets, match, remove, skip_reason,
)

__all__ = ["HashListError", "HashSetError", "HashSetInfo", "benign_reason", "import_file",
           "list_sets", "match", "remove", "skip_reason"]
