#!/usr/bin/env python3
"""Benchmark `bridle check` against MVT on generated iOS acquisitions.

For each acquisition given, in the same run: bridle, MVT (`check-backup`, or `check-fs` with
--fs), and the floor: reading every evidence file bridle's run cited in its info.json (warm
cache, best of three), i.e. the time just to cat the inspected files. Every STIX2 file under
--iocs is loaded by both tools. Wall time and peak RSS come from /usr/bin/time -v. Prints a
Markdown table (and writes it with --markdown).

Generate acquisitions first with ../shared/bench/gen_ios_backup.py or gen_ios_fs.py (see
their READMEs for the small, medium and large flags), outside the repository:

    python3 bench/ios.py --bridle target/release/bridle --mvt /path/to/venv/bin/mvt-ios \
        --iocs ../shared/iocs --runs 2 /data/bench/small /data/bench/medium /data/bench/large
    python3 bench/ios.py --fs ... /data/bench/fs-small /data/bench/fs-medium
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS MB, exit code)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        full = ["/usr/bin/time", "-v", "-o", t.name] + cmd
        start = time.monotonic()
        p = subprocess.run(full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        wall = time.monotonic() - start
        text = open(t.name).read()
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return wall, (int(rss.group(1)) / 1024 if rss else float("nan")), p.returncode


def floor(root, info_json):
    """Best of three warm reads of every evidence file bridle cited."""
    import json

    info = json.load(open(info_json))
    files = []
    for f in info.get("evidence_files", []):
        p = os.path.join(root, f["stored_path"])
        if os.path.isfile(p):
            files.append(p)
    best = float("inf")
    for _ in range(3):
        start = time.monotonic()
        for f in files:
            with open(f, "rb") as h:
                while h.read(1 << 20):
                    pass
        best = min(best, time.monotonic() - start)
    size = sum(os.path.getsize(f) for f in files)
    return best, len(files), size


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("backups", nargs="+")
    ap.add_argument("--bridle", required=True)
    ap.add_argument("--mvt", help="mvt-ios executable (omit to time bridle only)")
    ap.add_argument("--iocs", required=True, help="folder of STIX2 files (all are loaded)")
    ap.add_argument("--runs", type=int, default=1, help="runs of each tool; the best is kept")
    ap.add_argument("--markdown", help="write the table to this file")
    ap.add_argument("--fs", action="store_true", help="filesystem dumps (MVT check-fs)")
    args = ap.parse_args()

    stix = sorted(glob.glob(os.path.join(args.iocs, "**", "*.stix2"), recursive=True))
    if not stix:
        sys.exit("no .stix2 files under %s" % args.iocs)
    env = dict(os.environ, TZ="UTC")
    rows = []
    for backup in args.backups:
        name = os.path.basename(os.path.normpath(backup))
        res = {"bridle": [], "mvt": []}
        fl = None
        for _ in range(args.runs):
            out = tempfile.mkdtemp(prefix="bridle-bench-")
            cmd = [args.bridle, "check", backup, "--only-given-iocs", "--quiet", "--output", os.path.join(out, "o")]
            for s in stix:
                cmd += ["--iocs", s]
            res["bridle"].append(timed(cmd, env))
            if fl is None:
                root = backup
                if args.fs and not os.path.isdir(os.path.join(backup, "private", "var")):
                    subs = [d for d in os.listdir(backup) if os.path.isdir(os.path.join(backup, d, "private", "var"))]
                    root = os.path.join(backup, subs[0]) if subs else backup
                fl, nfiles, nbytes = floor(root, os.path.join(out, "o", "info.json"))
            shutil.rmtree(out, ignore_errors=True)
            if args.mvt:
                out = tempfile.mkdtemp(prefix="mvt-bench-")
                mcmd = [args.mvt, "--disable-update-check", "--disable-indicator-update-check",
                        "check-fs" if args.fs else "check-backup"]
                for s in stix:
                    mcmd += ["--iocs", s]
                mcmd += ["-o", os.path.join(out, "o"), backup]
                res["mvt"].append(timed(mcmd, env))
                shutil.rmtree(out, ignore_errors=True)
        b = min(res["bridle"])
        line = {"name": name, "floor": fl, "files": nfiles, "bytes": nbytes, "bridle": b}
        if res["mvt"]:
            line["mvt"] = min(res["mvt"])
        rows.append(line)
        print(name, line, file=sys.stderr)

    out = []
    out.append("| acquisition | files read (MB) | cat floor | bridle wall | bridle peak RSS | MVT wall | MVT peak RSS | speed-up | RSS ratio |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        bw, brss, bcode = r["bridle"]
        if "mvt" in r:
            mw, mrss, _ = r["mvt"]
            mvt = "%.2f s | %.0f MB | %.0fx | %.1f%%" % (mw, mrss, mw / bw, 100 * brss / mrss)
        else:
            mvt = "– | – | – | –"
        out.append("| %s | %d (%.0f) | %.3f s | %.2f s | %.0f MB | %s |" % (
            r["name"], r["files"], r["bytes"] / 1e6, r["floor"], bw, brss, mvt))
    table = "\n".join(out)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
