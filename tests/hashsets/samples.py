"""Hash lists in each supported format, made from known bytes so that every hash is real."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

#: Three "files" whose hashes the lists hold.
CONTENTS = (b"first file", b"second file", b"third file")


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def text_list(path: Path) -> Path:
    """Mixed algorithms, comments, a blank line, an md5sum-style line and upper case."""
    first, second, third = CONTENTS
    path.write_text(
        "# known files, exported 2026-11-25\n"
        f"{sha256(first)}\n"
        "\n"
        f"{md5(second).upper()}  second.jpg\n"
        f"   {sha1(third)}\t third file.png  \n"
        "# end\n"
    )
    return path


def csv_list(path: Path) -> Path:
    """A spreadsheet export with an MD5 and a SHA-256 column among others, one cell empty."""
    first, second, third = CONTENTS
    path.write_text(
        "File Name,Size,MD5,SHA-256\n"
        f"first.jpg,10,{md5(first)},{sha256(first)}\n"
        f"\"second, copy.jpg\",11,{md5(second)},\n"
        f"third.png,10,{md5(third)},{sha256(third)}\n"
    )
    return path


def nsrl_list(path: Path) -> Path:
    """NSRL RDS ``NSRLFile.txt`` style: quoted header, upper-case SHA-1 and MD5, CRC32."""
    rows = ['"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode",'
            '"SpecialCode"']
    for n, data in enumerate(CONTENTS):
        rows.append(f'"{sha1(data).upper()}","{md5(data).upper()}","0000{n:04X}",'
                    f'"file {n}.dll",{len(data)},{1000 + n},"362",""')
    path.write_text("\r\n".join(rows) + "\r\n")
    return path


def vic_cases(path: Path, categories=(1, 0, 2)) -> Path:
    """A Project VIC case export (VICS 2.0 ``#Cases``): media records inside a case."""
    media = [{"MediaID": n + 1, "Category": category, "MD5": md5(data).upper(),
              "SHA1": sha1(data).upper(), "MediaSize": len(data),
              "MediaFiles": [{"FileName": f"f{n}.jpg", "FilePath": f"/DCIM/f{n}.jpg"}]}
             for n, (data, category) in enumerate(zip(CONTENTS, categories))]
    document = {"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/"
                                  "2.0.xml/US/$metadata#Cases",
                "value": [{"CaseID": "7c1e0a52-0d52-4c7a-9d0c-2b8c6a0f0c11", "CaseNumber": "T-1",
                           "Media": media}]}
    path.write_text(json.dumps(document, indent=2))
    return path


def vic_media(path: Path) -> Path:
    """A VICS 2.0 hash-set export (``#Media``): media records straight under ``value``."""
    document = {"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/"
                                  "2.0.xml/Default/$metadata#Media",
                "value": [{"MediaID": n + 1, "Category": 1, "MD5": md5(data).upper(),
                           "SHA1": None, "DateUpdated": "2026-06-07T02:31:49.8300Z"}
                          for n, data in enumerate(CONTENTS)]}
    path.write_text(json.dumps(document))
    return path
