#!/usr/bin/env python3
"""Benchmarks for results that last (issue 6). Standard library only.

1. Re-check vs check: a generated backup is checked without indicators, then checked again
   with every indicator file, then its saved results are re-checked with the same
   indicators (`bridle recheck`). The re-check must give the same indicator alerts as the
   check, and be at least 10x faster.
2. Case store: N devices (variations of one real run's results: values changed per device,
   a planted indicator on every 20th) are recorded in a case store, then all are re-checked
   against a new STIX file (`bridle case recheck --all`), on SQLite and on PostgreSQL.

    python3 bench/results.py --bridle target/release/bridle \\
        --backup /work/bench/medium --iocs ../shared/iocs --work /tmp/bridle-bench \\
        --devices-from ../shared/fixtures/mvt/ios_backup --devices 1000 \\
        --postgres postgres://postgres@127.0.0.1:55433/postgres

It prints a Markdown summary and writes every number to <work>/bench.json. The input
backup is only read.
"""

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import urllib.parse


def run(cmd, expect=(0, 1), env=None):
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if proc.returncode not in expect:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}")
    return elapsed, proc


def env_without_user_indicators():
    env = dict(os.environ)
    env.pop("BRIDLE_IOCS", None)
    env.pop("BRIDLE_STORE", None)
    return env


def indicator_alerts(path):
    with open(path) as f:
        alerts = json.load(f)
    out = []
    for a in alerts:
        if a.get("matched_indicator") is not None:
            a = dict(a)
            a.pop("new", None)
            out.append(json.dumps(a, sort_keys=True))
    return sorted(out)


def bench_recheck(args, env, report):
    work = os.path.join(args.work, "recheck")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    b = args.bridle
    plain = os.path.join(work, "plain")
    # Exit 2 (part of the acquisition unreadable, e.g. filler files the exploit scanner
    # cannot parse) still produces complete results to compare.
    done = (0, 1, 2)
    t_plain, _ = run([b, "check", args.backup, "--only-given-iocs", "-q", "--output", plain],
                     expect=done, env=env)
    checks = []
    for n in range(args.repeat):
        out = os.path.join(work, f"check-{n}")
        t, _ = run([b, "check", args.backup, "--only-given-iocs", "-q", "--iocs", args.iocs,
                    "--output", out], expect=done, env=env)
        checks.append(t)
    rechecks = []
    for n in range(args.repeat):
        out = os.path.join(work, f"recheck-{n}")
        t, proc = run([b, "recheck", plain, "--only-given-iocs", "-q", "--iocs", args.iocs,
                       "--output", out], expect=done, env=env)
        rechecks.append(t)
    same = indicator_alerts(os.path.join(work, "check-0", "alerts.json")) == \
        indicator_alerts(os.path.join(work, "recheck-0", "alerts.json"))
    with open(os.path.join(plain, "info.json")) as f:
        info = json.load(f)
    obs_bytes = os.path.getsize(os.path.join(plain, "observables.jsonl"))
    with open(os.path.join(plain, "observables.jsonl"), "rb") as f:
        lines = sum(1 for _ in f)
    report["recheck"] = {
        "backup": args.backup,
        "iocs": args.iocs,
        "check_without_indicators_s": round(t_plain, 2),
        "check_with_indicators_s": [round(t, 2) for t in checks],
        "recheck_s": [round(t, 3) for t in rechecks],
        "speedup": round(min(checks) / min(rechecks), 1),
        "same_indicator_alerts": same,
        "indicator_alerts": len(indicator_alerts(os.path.join(work, "check-0", "alerts.json"))),
        "observables_jsonl_lines": lines,
        "observables_jsonl_bytes": obs_bytes,
        "timeline_rows": info.get("timeline_rows"),
    }
    if not same:
        raise SystemExit("the re-check's indicator alerts differ from the check's")


def base_results(args, env):
    """One real run: the results of checking --devices-from without indicators."""
    out = os.path.join(args.work, "device-base")
    shutil.rmtree(out, ignore_errors=True)
    run([args.bridle, "check", args.devices_from, "--only-given-iocs", "-q", "--output", out],
        env=env)
    return out


def vary(value, kind, i, rng):
    """A device-specific variant of an observable value (about a third of them)."""
    if rng.random() > 0.3:
        return value
    if kind in ("url", "domain"):
        return re.sub(r"^(https?://)?", lambda m: (m.group(1) or "") + f"d{i}.", value, count=1)
    if kind == "file_path":
        return value.rstrip("/") + f"/d{i}"
    if kind in ("process", "app_id", "file_name"):
        return f"{value}.d{i % 97}"
    return value


def make_device(base, dest, i, planted, rng):
    os.makedirs(dest)
    modules = set()
    with open(os.path.join(base, "observables.jsonl")) as src, \
            open(os.path.join(dest, "observables.jsonl"), "w") as out:
        first = True
        for line in src:
            rec = json.loads(line)
            modules.add(rec["module"])
            for o in rec["observables"]:
                o["value"] = vary(o["value"], o["kind"], i, rng)
            if planted and first and rec["observables"]:
                rec["observables"].append({"kind": "url", "value": f"https://{planted}/x",
                                           "field": "bench", "level": "CRITICAL"})
                first = False
            out.write(json.dumps(rec, separators=(",", ":")) + "\n")
    for m in modules:
        shutil.copy(os.path.join(base, f"{m}.json"), os.path.join(dest, f"{m}.json"))
    shutil.copy(os.path.join(base, "alerts.json"), os.path.join(dest, "alerts.json"))
    with open(os.path.join(base, "info.json")) as f:
        info = json.load(f)
    info["acquisition_path"] = f"/bench/device-{i:04d}"
    with open(os.path.join(dest, "info.json"), "w") as f:
        json.dump(info, f)
    bi = os.path.join(base, "backup_info.json")
    if os.path.exists(bi):
        with open(bi) as f:
            device = json.load(f)
        device["Device Name"] = f"Bench device {i:04d}"
        device["Unique Identifier"] = f"bench-{i:04d}"
        with open(os.path.join(dest, "backup_info.json"), "w") as f:
            json.dump(device, f)


def new_stix(path, planted, extra):
    objects = [{"type": "malware", "id": "malware--bench", "name": "BenchSpy",
                "is_family": False}]

    def add(n, pattern):
        objects.append({"type": "indicator", "id": f"indicator--bench-{n}",
                        "pattern_type": "stix", "pattern": pattern})
        objects.append({"type": "relationship", "id": f"relationship--bench-{n}",
                        "relationship_type": "indicates", "source_ref": f"indicator--bench-{n}",
                        "target_ref": "malware--bench"})
    n = 0
    for domain in planted:
        add(n, f"[domain-name:value = '{domain}']")
        n += 1
    for k in range(extra):
        add(n, f"[domain-name:value = 'new-{k}.bench-new.example']")
        add(n + 1, f"[process:name = 'benchproc{k}']")
        add(n + 2, f"[file:path = '/private/var/db/bench{k}']")
        n += 3
    with open(path, "w") as f:
        json.dump({"type": "bundle", "id": "bundle--bench", "objects": objects}, f)
    return n


def bench_store(args, env, report, base, store, name):
    b = args.bridle
    rng = random.Random(1)
    tmp = os.path.join(args.work, "device")
    planted = {}
    import_s = 0.0
    for i in range(args.devices):
        shutil.rmtree(tmp, ignore_errors=True)
        domain = f"planted-{i}.bench-new.example" if i % 20 == 0 else None
        if domain:
            planted[i] = domain
        make_device(base, tmp, i, domain, rng)
        t, _ = run([b, "case", "import", f"bench-{i // 100}", tmp, "--store", store],
                   expect=(0,), env=env)
        import_s += t
    stix = os.path.join(args.work, "new.stix2")
    indicators = new_stix(stix, sorted(planted.values()), args.extra_indicators)
    times = []
    found = None
    for _ in range(args.repeat):
        t, proc = run([b, "case", "recheck", "--all", "--store", store, "--only-given-iocs",
                       "--iocs", stix, "-q"], env=env)
        times.append(t)
        m = re.search(r"Re-checked (\d+) acquisition\(s\) against (\d+) indicators in ([\d.]+) s: "
                      r"(\d+) with indicator alerts", proc.stderr)
        if not m:
            raise SystemExit(proc.stderr)
        found = int(m.group(4))
    report.setdefault("stores", {})[name] = {
        "devices": args.devices,
        "records_per_device": None,
        "import_total_s": round(import_s, 1),
        "import_per_device_s": round(import_s / args.devices, 3),
        "new_stix_indicators": indicators,
        "recheck_all_s": [round(t, 2) for t in times],
        "devices_with_alerts": found,
        "planted_devices": len(planted),
    }
    if found != len(planted):
        raise SystemExit(f"{name}: {found} devices with alerts, {len(planted)} planted")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bridle", required=True)
    p.add_argument("--backup", help="backup for the re-check benchmark (e.g. /work/bench/medium)")
    p.add_argument("--iocs", required=True, help="indicator folder (../shared/iocs)")
    p.add_argument("--work", required=True)
    p.add_argument("--devices-from", help="acquisition whose results are varied into devices")
    p.add_argument("--devices", type=int, default=1000)
    p.add_argument("--extra-indicators", type=int, default=1000,
                   help="triples of unplanted indicators in the new STIX file")
    p.add_argument("--postgres", help="PostgreSQL server URL (a database is created in it)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--skip-recheck", action="store_true")
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    env = env_without_user_indicators()
    report = {"bridle": args.bridle, "cpus": os.cpu_count()}
    if args.backup and not args.skip_recheck:
        bench_recheck(args, env, report)
        r = report["recheck"]
        print(f"recheck vs check: check {min(r['check_with_indicators_s'])} s, "
              f"recheck {min(r['recheck_s'])} s, {r['speedup']}x", flush=True)
    if args.devices_from:
        base = base_results(args, env)
        with open(os.path.join(base, "observables.jsonl"), "rb") as f:
            per_device = sum(1 for _ in f)
        sqlite = os.path.join(args.work, "cases.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(sqlite + suffix):
                os.remove(sqlite + suffix)
        bench_store(args, env, report, base, sqlite, "sqlite")
        report["stores"]["sqlite"]["records_per_device"] = per_device
        report["stores"]["sqlite"]["store_bytes"] = os.path.getsize(sqlite)
        print(f"sqlite: {report['stores']['sqlite']}", flush=True)
        if args.postgres:
            db = "bridle_bench"
            url = urllib.parse.urlsplit(args.postgres)
            admin = args.postgres
            subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"], check=True)
            subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {db}"], check=True)
            store = urllib.parse.urlunsplit((url.scheme, url.netloc, "/" + db, "", ""))
            bench_store(args, env, report, base, store, "postgres")
            size = subprocess.run(["psql", store, "-tAc", f"SELECT pg_database_size('{db}')"],
                                  capture_output=True, text=True, check=True).stdout.strip()
            report["stores"]["postgres"]["records_per_device"] = per_device
            report["stores"]["postgres"]["store_bytes"] = int(size)
            print(f"postgres: {report['stores']['postgres']}", flush=True)
    with open(os.path.join(args.work, "bench.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
