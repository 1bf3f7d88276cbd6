"""Safe reading of corpora from directories and zip files."""

from __future__ import annotations

import os
import stat
import zipfile

import pytest

from annotations.formats.archive import Corpus, iter_archive
from annotations.formats.document import FormatError
from annotations.formats.registry import read_corpus

from .conftest import FIXTURES


def make_zip(path, members):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def refusal(path, **kwargs):
    with pytest.raises(FormatError) as info:
        list(iter_archive(path, **kwargs))
    return [str(p) for p in info.value.problems]


def test_directory_yields_relative_paths_lazily_and_sorted():
    files = iter_archive(FIXTURES / "brat" / "good")
    first = next(files)
    assert first[0] == "annotation.conf"
    rest = [name for name, _ in files]
    assert "sub/unannotated.txt" in rest
    assert rest == sorted(rest)


def test_zip_with_dotdot_absolute_and_drive_members_is_refused(tmp_path):
    path = make_zip(
        tmp_path / "bad.zip",
        {"ok.txt": "x", "../evil.txt": "x", "/etc/passwd": "x", "C:/win.txt": "x", "a/../../b.txt": "x"},
    )
    assert refusal(path) == [
        "bad.zip: member '../evil.txt' refused: '..' component",
        "bad.zip: member '/etc/passwd' refused: absolute path",
        "bad.zip: member 'C:/win.txt' refused: drive letter",
        "bad.zip: member 'a/../../b.txt' refused: '..' component",
    ]


def test_zip_symlink_member_is_refused(tmp_path):
    path = tmp_path / "links.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("link.txt")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    assert refusal(path) == ["links.zip: member 'link.txt' refused: symbolic link"]


def test_directory_symlink_is_refused(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("x")
    os.symlink("/etc/hostname", tmp_path / "corpus" / "b.txt")
    assert refusal(tmp_path / "corpus") == ["corpus: b.txt: symbolic links are refused"]


def test_zip_bomb_is_refused_by_declared_size(tmp_path):
    path = make_zip(tmp_path / "bomb.zip", {"a.txt": b"\0" * 5_000_000})
    assert path.stat().st_size < 50_000
    assert refusal(path, max_bytes=1_000_000) == [
        "bomb.zip: uncompressed size 5000000 bytes exceeds the limit of 1000000 bytes (a zip bomb?)"
    ]


def test_zip_with_lying_sizes_is_stopped(tmp_path):
    """Headers claim 10 bytes for a 5 MB member: reading must not trust them."""
    path = make_zip(tmp_path / "liar.zip", {"a.txt": b"\0" * 5_000_000})
    raw = bytearray(path.read_bytes())
    real = (5_000_000).to_bytes(4, "little")
    fake = (10).to_bytes(4, "little")
    assert raw.count(real) == 2  # local header and central directory
    path.write_bytes(bytes(raw).replace(real, fake))
    with pytest.raises(FormatError) as info:
        list(iter_archive(path, max_bytes=1_000_000))
    assert "liar.zip" in str(info.value)


def test_bytes_read_are_counted_against_the_limit(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.txt").write_bytes(b"x" * 600)
    (tmp_path / "c" / "b.txt").write_bytes(b"x" * 600)
    with Corpus(tmp_path / "c", max_bytes=10_000) as corpus:
        corpus.max_bytes = 1000  # simulate a file that grew after the scan
        corpus.read("a.txt")
        with pytest.raises(FormatError, match="more than 1000 bytes read"):
            corpus.read("b.txt")


def test_brat_corpus_reads_from_a_zip_like_from_a_directory(tmp_path):
    folder = FIXTURES / "brat" / "good"
    path = tmp_path / "good.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(folder).as_posix())
    from_dir = [(r.source, r.document) for r in read_corpus(folder, "brat")]
    from_zip = [(r.source, r.document) for r in read_corpus(path, "brat")]
    assert from_zip == from_dir
    assert len(from_dir) == 4


def test_not_a_path_is_a_clear_error_that_names_no_server_folder(tmp_path):
    assert refusal(tmp_path / "missing") == ["missing: no such file or directory"]


def test_fixture_zip_with_traversal_members_is_refused_before_anything_is_read():
    results = read_corpus(FIXTURES / "archive" / "traversal.zip", "brat")
    with pytest.raises(FormatError) as info:
        next(results)
    assert [str(p) for p in info.value.problems] == [
        "traversal.zip: member '../../escape.txt' refused: '..' component",
        "traversal.zip: member '/tmp/absolute.ann' refused: absolute path",
    ]


def test_zip_of_a_folder_is_read_from_inside_that_folder(tmp_path):
    folder = FIXTURES / "brat" / "good"
    path = tmp_path / "zipped.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                zf.write(file, "good/" + file.relative_to(folder).as_posix())
    from annotations.formats.registry import find_schema

    assert [r.document.id for r in read_corpus(path, "brat")] == [
        "basic",
        "crlf",
        "sub/unannotated",
        "unicode",
    ]
    assert find_schema(path) == find_schema(folder)


def test_file_named_zip_that_is_not_a_zip(tmp_path):
    (tmp_path / "fake.zip").write_text("hello")
    assert refusal(tmp_path / "fake.zip") == ["fake.zip: not a valid zip file"]


def test_a_member_beyond_the_per_document_limit_is_refused_as_a_zip_bomb_before_it_is_read(tmp_path):
    path = make_zip(tmp_path / "bomb.zip", {"a.txt": b"x", "big.txt": b"\0" * 3_000_000})
    assert refusal(path, max_bytes=10_000_000, max_member_bytes=1_000_000) == [
        "bomb.zip: member 'big.txt' expands to 3000000 bytes, beyond the per-document limit of 1000000 bytes "
        "(a zip bomb?)"
    ]


def test_line_files_may_exceed_the_per_document_limit_but_each_line_may_not(tmp_path):
    """A JSONL member holds many documents: the cap applies to each line, which is read as a stream."""
    from annotations.formats.readers import read_jsonl

    good = b'{"id": "a", "text": "ok"}\n'
    path = make_zip(tmp_path / "c.zip", {"notes.jsonl": good * 2000 + b'{"id": "b", "text": "' + b"y" * 5000 + b'"}\n' + good.replace(b'"a"', b'"z"')})
    results = list(read_jsonl(path, max_bytes=10_000_000, max_member_bytes=1000))
    assert len(results) == 2002
    bad = [r for r in results if not r.ok]
    assert [str(p) for r in bad for p in r.problems] == [
        "notes.jsonl:2001: the line is longer than the per-document limit of 1000 bytes"
    ]
    assert results[-1].document.id == "z"
