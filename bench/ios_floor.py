#!/usr/bin/env python3
"""The least time any tool needs to give what issue 2 asks of a check, on this machine.

Two parts of a check do not depend on how it parses anything: the SHA-256 of every evidence
file it read (info.json lists each with its digest) and writing its outputs in MVT's layout
(plus timeline.jsonl and observables.jsonl). This script times both alone, from a results
folder of `bridle check` on an acquisition: hashing the evidence files that info.json lists
(with OpenSSL's SHA-256 through hashlib, on as many threads as there are CPUs) and writing
as many bytes as the folder's outputs (bridle's own manifest, report and keys file
excluded) into fresh files, with no formatting work at all. Warm page cache; best of --runs.

    bridle check $BENCH/medium --iocs ../shared/iocs --output /tmp/medium-out
    python3 bench/ios_floor.py --results /tmp/medium-out --acquisition $BENCH/medium
"""

import argparse
import concurrent.futures
import hashlib
import json
import os
import shutil
import tempfile
import time

# Written by bridle for its own purposes, not asked for by the output list.
OWN_FILES = {"bridle-manifest.json", "bridle-manifest.sig", "report.html", "observables.keys.tsv"}


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
    return h.hexdigest()


def hash_all(paths, threads):
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(sha256_file, paths))


def write_all(sizes, folder):
    block = b"\0" * (1 << 20)
    for i, size in enumerate(sizes):
        with open(os.path.join(folder, f"out{i}"), "wb") as f:
            left = size
            while left > 0:
                n = min(left, len(block))
                f.write(block[:n] if n < len(block) else block)
                left -= n


def best(runs, fn):
    times = []
    for _ in range(runs):
        start = time.monotonic()
        fn()
        times.append(time.monotonic() - start)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", required=True, help="a bridle results folder")
    ap.add_argument("--acquisition", required=True, help="the acquisition it was made from")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    info = json.load(open(os.path.join(args.results, "info.json")))
    evidence = [os.path.join(args.acquisition, e["stored_path"]) for e in info["evidence_files"]]
    expected = [e["sha256"] for e in info["evidence_files"]]
    threads = os.cpu_count() or 1
    digests = hash_all(evidence, threads)
    if digests != expected:
        raise SystemExit("the evidence does not hash as info.json says: wrong acquisition?")
    evidence_bytes = sum(os.path.getsize(p) for p in evidence)
    outputs = sorted(
        os.path.join(args.results, n)
        for n in os.listdir(args.results)
        if n not in OWN_FILES and os.path.isfile(os.path.join(args.results, n))
    )
    sizes = [os.path.getsize(p) for p in outputs]
    hash_s = best(args.runs, lambda: hash_all(evidence, threads))

    write_times = []
    for _ in range(args.runs):
        # Beside the results folder: the same disk a check writes to. Removed untimed.
        folder = tempfile.mkdtemp(prefix="bridle-floor-", dir=os.path.dirname(os.path.abspath(args.results)))
        try:
            start = time.monotonic()
            write_all(sizes, folder)
            write_times.append(time.monotonic() - start)
        finally:
            shutil.rmtree(folder)
    write_s = min(write_times)
    print(f"evidence: {len(evidence)} files, {evidence_bytes / 1e6:.0f} MB, SHA-256 on {threads} threads: {hash_s:.3f} s")
    print(f"outputs: {len(outputs)} files, {sum(sizes) / 1e6:.0f} MB, written (no formatting): {write_s:.3f} s")
    print(f"floor (sum): {hash_s + write_s:.3f} s")


if __name__ == "__main__":
    main()
