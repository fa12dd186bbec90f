"""Output files in the cache: the stored form, a pruned artifact, a file arriving in chunks."""

from __future__ import annotations

import json

import pytest

from containerdag_widgets import File
from containerdag_widgets.cache.artifacts import ArtifactStore, FileTooLarge
from containerdag_widgets.model.files import from_stored, json_default, to_stored


def test_a_stored_result_gives_its_files_back_until_they_are_pruned(store):
    artifacts = ArtifactStore()
    kept = artifacts.put_bytes(b"\0\1\2", "raw data.bin")
    store.store_result("k1", {"f": kept, "n": 3}, node="a")
    found = store.lookup("k1").outputs
    assert found == {"f": kept, "n": 3} and isinstance(found["f"], File)
    assert found["f"].path == kept.path and found["f"].size == 3
    assert store.file_hashes() == {kept.sha256}
    artifacts.prune(set())  # the artifact is gone: the result cannot be reused
    assert store.lookup("k1") is None


def test_the_stored_form_of_a_file_is_plain_json_and_reads_back(tmp_path):
    kept = ArtifactStore(tmp_path).put_bytes(b"abc", "a.txt")
    text = json.dumps(to_stored({"x": [kept]}), sort_keys=True)
    assert json.loads(text)["x"][0] == {"$file": str(kept.path), "sha256": kept.sha256,
                                        "size": 3}
    assert from_stored(json.loads(text)) == {"x": [kept]}
    assert from_stored({"$file": "p", "sha256": "s"}) == {"$file": "p", "sha256": "s"}
    with pytest.raises(TypeError):
        json_default(object())


def test_a_file_arriving_in_chunks_is_hashed_stored_or_dropped(tmp_path, monkeypatch):
    artifacts = ArtifactStore(tmp_path)
    incoming = artifacts.incoming("a b.bin")
    for chunk in (b"ab", b"", b"c"):
        incoming.write(chunk)
    done = incoming.finish()
    assert done == artifacts.put_bytes(b"abc", "a b.bin") and done.read_bytes() == b"abc"
    monkeypatch.setenv("CONTAINERDAG_FILE_LIMIT", "4")
    over = artifacts.incoming("big.bin")
    over.write(b"1234")
    with pytest.raises(FileTooLarge, match="over the limit of 4"):
        over.write(b"5")
    over.abort()
    assert [p.name for p in artifacts.files()] == ["a b.bin"]
    assert not any(p.name.startswith(".incoming-") for p in tmp_path.iterdir())
