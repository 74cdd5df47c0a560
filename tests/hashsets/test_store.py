"""Hash sets in the metadata store, on SQLite and PostgreSQL: streamed all-or-nothing imports,
the look-up at ingest, list and remove, the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from aima.errors import NotFound
from aima.hashsets.formats import HashListError
from aima.hashsets.store import BATCH_ROWS, HashSetError, import_file, list_sets, match, remove
from aima.storage import audit
from aima.storage.models import HashSet, HashSetEntry
from tests.hashsets.samples import CONTENTS, csv_list, md5, nsrl_list, sha1, sha256, text_list, \
    vic_cases

FIRST, SECOND, THIRD = CONTENTS


def stored_rows(database) -> tuple[int, int]:
    with database.session() as session:
        return (session.scalar(select(func.count()).select_from(HashSet)),
                session.scalar(select(func.count()).select_from(HashSetEntry)))


#: the strongest algorithm each list holds for each of CONTENTS (what a match names)
TEXT_ALGORITHMS = ("sha256", "md5", "sha1")
CSV_ALGORITHMS = ("sha256", "md5", "sha256")


@pytest.mark.parametrize("make, format, entries, algorithms", [
    (text_list, "text", 3, TEXT_ALGORITHMS), (csv_list, "csv", 5, CSV_ALGORITHMS),
    (nsrl_list, "nsrl", 6, ("sha1",) * 3), (vic_cases, "vic", 6, ("sha1",) * 3)])
def test_each_format_imports_and_matches_the_files_it_lists(database, tmp_path, make, format,
                                                            entries, algorithms):
    path = make(tmp_path / f"list.{format}")
    read = []

    info = import_file(database, "known", path, category="known-relevant", actor="analyst-1",
                       on_bytes=read.append)

    assert (info.name, info.category, info.format, info.entries, info.source_name,
            info.imported_by) == ("known", "known-relevant", format, entries, path.name,
                                  "analyst-1")
    assert sum(read) == path.stat().st_size  # the progress bar reaches the end of the file
    for data, algorithm in zip(CONTENTS, algorithms, strict=True):
        assert match(database, sha256(data), md5(data), sha1(data)) == [
            {"set": "known", "category": "known-relevant", "algorithm": algorithm}]
    assert match(database, sha256(b"other"), md5(b"other"), sha1(b"other")) == []


def test_a_file_in_several_sets_matches_each_by_any_of_its_hashes(database, tmp_path):
    (tmp_path / "a.txt").write_text(f"{md5(FIRST)}\n")
    (tmp_path / "b.txt").write_text(f"{sha1(FIRST)}\n{sha256(SECOND)}\n")
    import_file(database, "os-files", tmp_path / "a.txt", category="known-benign", actor="a")
    import_file(database, "alerts", tmp_path / "b.txt", category="known-relevant", actor="a")

    assert match(database, sha256(FIRST), md5(FIRST), sha1(FIRST)) == [
        {"set": "alerts", "category": "known-relevant", "algorithm": "sha1"},
        {"set": "os-files", "category": "known-benign", "algorithm": "md5"}]
    assert match(database, sha256(SECOND)) == [
        {"set": "alerts", "category": "known-relevant", "algorithm": "sha256"}]
    assert match(database, None) == []


def test_a_malformed_line_after_several_batches_imports_nothing(database, tmp_path):
    path = tmp_path / "big.txt"
    count = 2 * BATCH_ROWS + 10  # two full batches are inserted before the bad line is read
    with open(path, "w") as handle:
        for n in range(count):
            handle.write(sha256(n.to_bytes(4, "little")) + "\n")
        handle.write("0123456789abcdef0123456789abcdeX\n")

    with pytest.raises(HashListError) as error:
        import_file(database, "big", path, category="known-benign", actor="a")

    assert str(error.value) == (f"line {count + 1}: '0123456789abcdef0123456789abcdeX' is not a "
                                "sha256, sha1, md5 or phash hash")
    assert stored_rows(database) == (0, 0)
    assert list_sets(database) == []
    assert match(database, sha256((0).to_bytes(4, "little"))) == []
    assert [e.action for e in audit.events(database)] == []


def test_duplicates_in_a_list_count_once(database, tmp_path):
    (tmp_path / "dups.txt").write_text(f"{md5(FIRST)}\n{md5(FIRST).upper()}\n{md5(SECOND)}\n")

    info = import_file(database, "dups", tmp_path / "dups.txt", category="known-benign",
                       actor="a")

    assert info.entries == 2 and stored_rows(database) == (1, 2)


def test_an_empty_list_is_refused(database, tmp_path):
    (tmp_path / "empty.txt").write_text("# nothing yet\n")

    with pytest.raises(HashListError, match="no hashes found in empty.txt"):
        import_file(database, "empty", tmp_path / "empty.txt", category="known-benign", actor="a")
    assert stored_rows(database) == (0, 0)


def test_names_are_unique_and_categories_are_words(database, tmp_path):
    path = text_list(tmp_path / "list.txt")
    import_file(database, "known", path, category="known-benign", actor="a")

    with pytest.raises(HashSetError, match="exists already"):
        import_file(database, "known", path, category="known-benign", actor="a")
    with pytest.raises(HashSetError, match="category 'Known Benign'"):
        import_file(database, "other", path, category="Known Benign", actor="a")
    assert [s.name for s in list_sets(database)] == ["known"]


def test_vics_categories_apply_to_vics_json_only(database, tmp_path):
    with pytest.raises(HashSetError, match="VICS JSON only; list.txt reads as text"):
        import_file(database, "x", text_list(tmp_path / "list.txt"), category="known-benign",
                    actor="a", vic_categories={1})
    assert stored_rows(database) == (0, 0)


def test_list_and_remove_are_audit_logged_with_the_actor(database, tmp_path):
    import_file(database, "b-set", text_list(tmp_path / "b.txt"), category="known-benign",
                actor="analyst-1")
    import_file(database, "a-set", csv_list(tmp_path / "a.csv"), category="known-relevant",
                actor="analyst-1")

    assert [(s.name, s.category, s.entries) for s in list_sets(database)] == [
        ("a-set", "known-relevant", 5), ("b-set", "known-benign", 3)]

    removed = remove(database, "b-set", actor="analyst-2")

    assert removed.entries == 3
    assert [s.name for s in list_sets(database)] == ["a-set"]
    assert stored_rows(database) == (1, 5)
    assert match(database, sha256(FIRST)) == [
        {"set": "a-set", "category": "known-relevant", "algorithm": "sha256"}]
    with pytest.raises(NotFound, match="no hash set named 'b-set'"):
        remove(database, "b-set", actor="analyst-2")
    events = [(e.action, e.actor, e.case_id, e.details["name"], e.details["entries"])
              for e in audit.events(database)]
    assert events == [("hashset.import", "analyst-1", None, "b-set", 3),
                      ("hashset.import", "analyst-1", None, "a-set", 5),
                      ("hashset.remove", "analyst-2", None, "b-set", 3)]
