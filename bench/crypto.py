#!/usr/bin/env python3
"""Benchmark encrypted iOS backups: key derivation, and decrypt-and-check, against
iphone_backup_decrypt and MVT (`pip install mvt iphone_backup_decrypt` in a virtualenv).

In the same run, on the real-cost fixture (DPIC 10,000,000, ITER 10,000):

* key derivation: `bridle ios extract-key`, iphone_backup_decrypt's keybag unlock
  (`test_decryption()`), `mvt-ios extract-key`;
* decrypt and check: `bridle check` reading the encrypted backup in place, against
  `mvt-ios decrypt-backup` followed by `mvt-ios check-backup` on the decrypted copy, and
  iphone_backup_decrypt decrypting every file (`extract_files`, decryption only).

    python3 bench/crypto.py --bridle target/release/bridle --venv /path/to/venv \\
        --backup ../shared/fixtures/encrypted/ios_backup_encrypted_real --password bridle-test
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time


def timed(cmd, env=None, stdin=None):
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        start = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-v", "-o", t.name] + cmd, env=env,
                           input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.monotonic() - start
        text = open(t.name).read()
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if p.returncode not in (0, 1):
        print("warning: %s exited %d: %s" % (cmd[0], p.returncode, p.stderr[-400:]), file=sys.stderr)
    return wall, (int(rss.group(1)) / 1024 if rss else float("nan"))


IBD_UNLOCK = """
import sys
from iphone_backup_decrypt import EncryptedBackup
b = EncryptedBackup(backup_directory=sys.argv[1], passphrase=sys.argv[2])
b.test_decryption()
"""

IBD_ALL = """
import sys
from iphone_backup_decrypt import EncryptedBackup, MatchFiles
b = EncryptedBackup(backup_directory=sys.argv[1], passphrase=sys.argv[2])
b.extract_files(relative_paths_like="%", output_folder=sys.argv[3], preserve_folders=True)
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bridle", required=True)
    ap.add_argument("--venv", required=True)
    ap.add_argument("--backup", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--markdown")
    args = ap.parse_args()
    py = os.path.join(args.venv, "bin", "python")
    mvt = os.path.join(args.venv, "bin", "mvt-ios")
    env = dict(os.environ, TZ="UTC", BRIDLE_BACKUP_PASSWORD=args.password,
               MVT_IOS_BACKUP_PASSWORD=args.password)
    results = {}

    def best(name, make):
        runs = []
        for _ in range(args.runs):
            tmp = tempfile.mkdtemp(prefix="bench-crypto-")
            try:
                runs.append(timed(make(tmp), env))
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        results[name] = min(runs)
        print(name, results[name], file=sys.stderr)

    best("key: bridle ios extract-key", lambda t: [args.bridle, "ios", "extract-key", args.backup])
    best("key: iphone_backup_decrypt unlock", lambda t: [py, "-c", IBD_UNLOCK, args.backup, args.password])
    best("key: mvt-ios extract-key", lambda t: [mvt, "--disable-update-check", "--disable-indicator-update-check",
                                                 "extract-key", "-p", args.password, args.backup])
    best("decrypt+check: bridle check (in place)",
         lambda t: [args.bridle, "check", args.backup, "--quiet", "--only-given-iocs", "--output", os.path.join(t, "o")])
    best("decrypt: iphone_backup_decrypt, every file",
         lambda t: [py, "-c", IBD_ALL, args.backup, args.password, os.path.join(t, "o")])

    def mvt_both(t):
        script = ("set -e; %s --disable-update-check --disable-indicator-update-check decrypt-backup -p %s -d %s/d %s; "
                  "%s --disable-update-check --disable-indicator-update-check check-backup -o %s/o %s/d" %
                  (mvt, args.password, t, args.backup, mvt, t, t))
        return ["bash", "-c", script]
    best("decrypt+check: mvt-ios decrypt-backup + check-backup", mvt_both)

    lines = ["| step | tool | wall (best of %d) | peak RSS |" % args.runs, "|---|---|---|---|"]
    for name, (wall, rss) in results.items():
        step, tool = name.split(": ", 1)
        lines.append("| %s | %s | %.2f s | %.0f MB |" % (step, tool, wall, rss))
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        open(args.markdown, "w").write(table + "\n")


if __name__ == "__main__":
    main()
