"""Output files in the cache: the stored form, a pruned artifact, a file arriving in chunks."""

from __future__ import annotations

import json
import os

import pytest

from containerdag_widgets import File
from containerdag_widgets.cache import NodeRecord, SafeStore, Store
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


def test_usage_and_sizes_count_each_content_by_its_names_and_a_link_once(tmp_path):
    artifacts = ArtifactStore(tmp_path)
    a = artifacts.put_bytes(b"x" * 10, "a.txt")
    b = artifacts.put_bytes(b"x" * 10, "b.txt")  # the same content under another name
    c = artifacts.put_bytes(b"y" * 5, "c.txt")
    assert a.sha256 == b.sha256 and a.path != b.path
    assert artifacts.sizes() == {a.sha256: 20, c.sha256: 5}
    assert artifacts.usage() == (3, 25) and artifacts.size() == 25
    os.link(c.path, c.path.with_name("d.txt"))  # one inode, two names: its bytes once
    assert artifacts.usage() == (4, 25) and artifacts.sizes()[c.sha256] == 5


MiB = 1 << 20


def _filled(artifacts, letter):
    return artifacts.put_bytes(letter.encode() * MiB, f"{letter}.bin")


def test_prune_to_size_forgets_the_least_recently_used_results_and_only_their_files(cache_dir,
                                                                                    clock):
    artifacts = ArtifactStore()
    a, b, c, shared, ran = (_filled(artifacts, x) for x in "abcsr")
    with Store.open(clock=clock) as store:
        for key, outputs in (("old", {"f": a, "g": shared}), ("mid", {"f": b}),
                             ("new", {"f": c, "g": shared}), ("plain", {"n": 1})):
            clock.now += 1
            store.store_result(key, outputs)
        run = store.begin_run({})
        store.record_node(run, NodeRecord("r", "done", outputs={"f": ran}))
        clock.now += 100
        assert store.lookup("old") is not None  # the most recently used now
        # Least recently used first: mid, new, plain, old. 5 files of 1 MiB and the database
        # (under 0.5 MiB): forgetting "mid" frees b; "new" frees c (the shared file stays,
        # "old" names it) and then 3 MiB and the database fit.
        done = store.prune_to_size(3 * MiB + MiB // 2, artifacts.sizes())
        assert (done.results, done.dead) == (2, 0)
        assert (done.files, done.history_files, done.limit) == (3 * MiB, MiB, 3 * MiB + MiB // 2)
        assert 0 < done.database < MiB // 2 and done.fits
        assert store.lookup("mid") is None and store.lookup("new") is None
        assert store.lookup("old").outputs == {"f": a, "g": shared}
        assert store.lookup("plain").outputs == {"n": 1}
        assert store.file_hashes() == {a.sha256, shared.sha256, ran.sha256}
        assert artifacts.prune(store.file_hashes()) == 2
    assert set(artifacts.sizes()) == {a.sha256, shared.sha256, ran.sha256}
    assert not b.exists() and not c.exists() and a.exists() and ran.exists()


def test_prune_to_size_forgets_results_with_a_missing_file_and_cannot_free_the_history(
        cache_dir, clock):
    artifacts = ArtifactStore()
    a, gone, ran = (_filled(artifacts, x) for x in "agr")
    with Store.open(clock=clock) as store:
        for key, outputs in (("a", {"f": a}), ("gone", {"f": gone})):
            clock.now += 1
            store.store_result(key, outputs)
        store.record_node(store.begin_run({}), NodeRecord("r", "done", inputs={"f": ran}))
        artifacts.prune({a.sha256, ran.sha256})  # "gone"'s file went behind the store's back
        done = store.prune_to_size(1 << 40, artifacts.sizes())  # room enough for all
        assert (done.results, done.dead, done.files, done.history_files) == (1, 1, 2 * MiB, MiB)
        assert store.info()["results"] == 1 and store.lookup("a") is not None
        with pytest.raises(ValueError, match="limit must be >= 0"):
            store.prune_to_size(-1, {})
        done = store.prune_to_size(MiB // 2, artifacts.sizes())  # below the history's file
        assert (done.results, done.dead, done.files, done.history_files) == (1, 0, MiB, MiB)
        assert not done.fits and done.total == MiB + done.database
        assert store.info()["results"] == 0 and store.file_hashes() == {ran.sha256}
        assert store.prune_to_size(MiB // 2, artifacts.sizes()).results == 0


def test_a_safe_store_that_is_off_prunes_nothing(cache_dir):
    safe = SafeStore.open()
    safe.close()
    assert safe.prune_to_size(0, {}) is None
    with pytest.raises(ValueError):
        safe.prune_to_size(-1, {})
