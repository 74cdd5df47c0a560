"""The hash-list readers: each format gives the right (algorithm, hash) entries, and a malformed
entry is refused with where it is."""

from __future__ import annotations

import io

import pytest

from aima.hashsets.formats import Entry, HashListError, detect_format, read_csv, read_text, \
    read_vic
from tests.hashsets.samples import CONTENTS, csv_list, md5, nsrl_list, sha1, sha256, text_list, \
    vic_cases, vic_media

FIRST, SECOND, THIRD = CONTENTS


def text_of(path):
    return io.StringIO(path.read_text(), newline="")


def test_plain_text_tells_the_algorithm_by_length_and_skips_comments(tmp_path):
    path = text_list(tmp_path / "list.txt")

    assert list(read_text(text_of(path))) == [
        Entry("sha256", sha256(FIRST)), Entry("md5", md5(SECOND)), Entry("sha1", sha1(THIRD))]
    assert detect_format(path.read_bytes()[:8192]) == "text"


@pytest.mark.parametrize("line, message", [
    ("xyz", "line 3: 'xyz' is not a sha256, sha1, md5 or phash hash"),
    ("g" * 64, "line 3: '" + "g" * 64 + "' is not a sha256, sha1, md5 or phash hash"),
    ("a" * 63, "line 3: '" + "a" * 63 + "' is not a sha256, sha1, md5 or phash hash"),
    ("é" * 32, "line 3: '" + "é" * 32 + "' is not a sha256, sha1, md5 or phash hash"),
])
def test_a_malformed_text_line_is_named_by_its_number(line, message):
    lines = io.StringIO(f"# header\n{'0' * 32}\n{line}\n{'1' * 40}\n")

    with pytest.raises(HashListError) as error:
        list(read_text(lines))

    assert str(error.value) == message


def test_csv_reads_every_hash_column_by_its_name(tmp_path):
    path = csv_list(tmp_path / "list.csv")

    assert detect_format(path.read_bytes()) == "csv"
    assert list(read_csv(text_of(path))) == [
        Entry("md5", md5(FIRST)), Entry("sha256", sha256(FIRST)),
        Entry("md5", md5(SECOND)),  # its SHA-256 cell is empty
        Entry("md5", md5(THIRD)), Entry("sha256", sha256(THIRD))]


def test_a_csv_hash_column_holds_its_own_algorithm_only():
    stream = io.StringIO(f"name,md5\na.jpg,{md5(FIRST)}\nb.jpg,{sha1(SECOND)}\n")

    with pytest.raises(HashListError, match=r"^line 3: '[0-9a-f]{40}' is not a md5 hash$"):
        list(read_csv(stream))


def test_a_csv_cell_with_spaces_inside_the_hash_is_refused():
    spaced = "d41d8cd9 8f00b204 e9800998 ecf8427e"[:32]  # 32 characters, 29 hex digits

    with pytest.raises(HashListError,
                       match="line 2: 'd41d8cd9 8f00b204 e9800998 ecf84' is not a md5 hash"):
        list(read_csv(io.StringIO(f"md5\n{spaced}\n")))


def test_a_csv_column_named_hash_may_mix_algorithms():
    stream = io.StringIO(f"Hash\n{md5(FIRST)}\n{sha256(SECOND)}\n")

    assert list(read_csv(stream)) == [Entry("md5", md5(FIRST)), Entry("sha256", sha256(SECOND))]


def test_a_csv_without_a_hash_column_is_refused():
    with pytest.raises(HashListError, match="line 1: no hash column"):
        list(read_csv(io.StringIO("name,size\na.jpg,1\n")))


def test_nsrl_rds_gives_the_sha1_and_md5_of_each_file(tmp_path):
    path = nsrl_list(tmp_path / "NSRLFile.txt")

    assert detect_format(path.read_bytes()) == "nsrl"
    assert list(read_csv(text_of(path), nsrl=True)) == [
        entry for data in CONTENTS
        for entry in (Entry("sha1", sha1(data)), Entry("md5", md5(data)))]


def test_a_malformed_nsrl_row_is_named_by_its_line(tmp_path):
    path = nsrl_list(tmp_path / "NSRLFile.txt")
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(sha1(SECOND).upper()[:8], "NOT-HEX!")

    with pytest.raises(HashListError, match=r"^line 3: 'NOT-HEX!.*' is not a sha1 hash$"):
        list(read_csv(io.StringIO("\n".join(lines) + "\n"), nsrl=True))


def test_a_file_that_is_not_nsrl_is_refused_as_nsrl(tmp_path):
    with pytest.raises(HashListError, match="not an NSRL RDS header"):
        list(read_csv(text_of(csv_list(tmp_path / "list.csv")), nsrl=True))


def test_vic_case_exports_give_md5_and_sha1_of_each_media_record(tmp_path):
    path = vic_cases(tmp_path / "vic.json")

    assert detect_format(path.read_bytes()) == "vic"
    with open(path, "rb") as stream:
        assert list(read_vic(stream)) == [
            entry for data in CONTENTS
            for entry in (Entry("md5", md5(data)), Entry("sha1", sha1(data)))]


def test_vic_categories_select_media_records(tmp_path):
    path = vic_cases(tmp_path / "vic.json", categories=(1, 0, 2))

    with open(path, "rb") as stream:
        entries = list(read_vic(stream, categories={1, 2}))

    assert entries == [Entry("md5", md5(FIRST)), Entry("sha1", sha1(FIRST)),
                       Entry("md5", md5(THIRD)), Entry("sha1", sha1(THIRD))]


def test_vic_hash_set_exports_with_media_directly_under_value(tmp_path):
    with open(vic_media(tmp_path / "vic.json"), "rb") as stream:
        assert list(read_vic(stream)) == [Entry("md5", md5(data)) for data in CONTENTS]


def test_a_top_level_media_list_is_read_too():
    stream = io.BytesIO(b'{"Media": [{"MD5": "%s", "Category": 3}]}' % md5(FIRST).encode())

    assert list(read_vic(stream)) == [Entry("md5", md5(FIRST))]


def test_a_malformed_vic_hash_names_its_media_record(tmp_path):
    path = vic_cases(tmp_path / "vic.json")
    path.write_text(path.read_text().replace(sha1(SECOND).upper(), "ABC"))

    with open(path, "rb") as stream, pytest.raises(HashListError) as error:
        list(read_vic(stream))

    assert str(error.value) == "media record 2 (SHA1): 'ABC' is not a sha1 hash"


def test_broken_json_is_refused(tmp_path):
    path = vic_cases(tmp_path / "vic.json")
    path.write_text(path.read_text()[:-40])

    with open(path, "rb") as stream, pytest.raises(HashListError, match="not valid JSON"):
        list(read_vic(stream))


def test_json_without_media_records_is_refused():
    with pytest.raises(HashListError, match="no media records"):
        list(read_vic(io.BytesIO(b'{"value": [{"CaseID": "x"}]}')))
