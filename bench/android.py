#!/usr/bin/env python3
"""Benchmark `bridle check` against MVT's mvt-android on Android acquisitions.

Each target is KIND:PATH with KIND one of androidqf, bugreport, backup (MVT's check-androidqf,
check-bugreport, check-backup). Both tools load every STIX2 file under --iocs and write their
outputs to a temporary folder; wall time and peak RSS come from /usr/bin/time -v, best of
--runs. A backup password, if needed, is passed to both through the environment
(BRIDLE_BACKUP_PASSWORD, MVT_ANDROID_BACKUP_PASSWORD).

    python3 bench/gen_androidqf.py --out /data/bench/aqf-large --seed 1 \\
        --files 100000 --packages 1000 --bugreport-mb 200
    python3 bench/android.py --bridle target/release/bridle --mvt VENV/bin/mvt-android \\
        --iocs ../shared/iocs androidqf:../shared/fixtures/mvt/androidqf \\
        bugreport:../shared/fixtures/mvt/android_data/bugreport androidqf:/data/bench/aqf-large
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


def timed(cmd, env):
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        start = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-v", "-o", t.name] + cmd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        wall = time.monotonic() - start
        text = open(t.name).read()
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return wall, (int(rss.group(1)) / 1024 if rss else float("nan")), p.returncode


def size_of(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="+", help="KIND:PATH")
    ap.add_argument("--bridle", required=True)
    ap.add_argument("--mvt", help="mvt-android executable")
    ap.add_argument("--iocs", required=True)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--password", help="backup password for both tools")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    stix = sorted(glob.glob(os.path.join(args.iocs, "**", "*.stix2"), recursive=True))
    env = dict(os.environ, TZ="UTC")
    if args.password:
        env["BRIDLE_BACKUP_PASSWORD"] = args.password
        env["MVT_ANDROID_BACKUP_PASSWORD"] = args.password
    rows = []
    for target in args.targets:
        kind, path = target.split(":", 1)
        b, m = [], []
        for _ in range(args.runs):
            out = tempfile.mkdtemp(prefix="bridle-abench-")
            cmd = [args.bridle, "check", path, "--only-given-iocs", "--quiet", "--output", os.path.join(out, "o")]
            for s in stix:
                cmd += ["--iocs", s]
            b.append(timed(cmd, env))
            shutil.rmtree(out, ignore_errors=True)
            if args.mvt:
                out = tempfile.mkdtemp(prefix="mvt-abench-")
                cmd = [args.mvt, "--disable-update-check", "--disable-indicator-update-check", "check-" + kind]
                if kind == "backup" or kind == "androidqf":
                    cmd += ["--non-interactive"]
                for s in stix:
                    cmd += ["--iocs", s]
                cmd += ["-o", os.path.join(out, "o"), path]
                m.append(timed(cmd, env))
                shutil.rmtree(out, ignore_errors=True)
        row = {"target": target, "size": size_of(path), "bridle": min(b)}
        if m:
            row["mvt"] = min(m)
        rows.append(row)
        print(row, file=sys.stderr)
    out = ["| acquisition | size (MB) | bridle wall | bridle peak RSS | MVT wall | MVT peak RSS | speed-up |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        bw, brss, _ = r["bridle"]
        if "mvt" in r:
            mw, mrss, mcode = r["mvt"]
            mvt = "%.2f s | %.0f MB | %.0fx" % (mw, mrss, mw / bw)
        else:
            mvt = "– | – | –"
        out.append("| %s | %.1f | %.2f s | %.0f MB | %s |" % (r["target"], r["size"] / 1e6, bw, brss, mvt))
    table = "\n".join(out)
    print(table)
    if args.markdown:
        open(args.markdown, "w").write(table + "\n")


if __name__ == "__main__":
    main()
