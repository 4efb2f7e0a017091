#!/usr/bin/env python3
"""Write a large synthetic AndroidQF acquisition, for benchmarks (docs/benchmarks.md).

Standard library only. The output is a folder laid out like AndroidQF's (or, with --zip, that
folder zipped): getprop.txt, packages.json, files.json, ps.txt, settings_*.txt,
root_binaries.json, mounts.json, acquisition.json, dumpsys.txt, logs/, intrusion_logs/, a
backup.ab with SMS and MMS, and a bugreport.zip whose dumpstate reaches --bugreport-mb
megabytes (dumpsys sections for appops, package, batterystats, dbinfo, accessibility,
platform_compat and adb, then logcat-like filler) with tombstones under FS/. Everything is
derived from --seed, so a rerun writes the same content.

Write it outside the repository, for example:

    python3 bench/gen_androidqf.py --out /data/bench/aqf-large --seed 1 \\
        --files 100000 --packages 1000 --bugreport-mb 200

--plant-app, --plant-domain and --plant-hash put given values into the acquisition
(a package, a DNS event and an SMS link, a files.json hash), so a run with indicators that
name them must find them.
"""

import argparse
import hashlib
import io
import json
import os
import random
import sys
import tarfile
import time
import zipfile
import zlib

SECTION_END = "-" * 78

VENDORS = ["com.samsung.android", "com.google.android", "com.android", "com.sec.android",
           "org.mozilla", "com.whatsapp", "com.facebook", "org.telegram", "com.spotify",
           "com.microsoft", "net.example", "io.example", "org.example"]
WORDS = ["app", "camera", "gallery", "music", "mail", "maps", "notes", "clock", "calc",
         "launcher", "keyboard", "browser", "store", "sync", "backup", "weather", "fit",
         "wallet", "health", "docs", "drive", "photos", "chat", "video", "radio", "news"]
INSTALLERS = ["com.android.vending", "com.android.vending", "com.android.vending", "null",
              "com.google.android.packageinstaller", "org.fdroid.fdroid"]
PERMISSIONS = ["CAMERA", "RECORD_AUDIO", "READ_CONTACTS", "ACCESS_FINE_LOCATION", "READ_SMS",
               "WAKE_LOCK", "RUN_IN_BACKGROUND", "READ_EXTERNAL_STORAGE",
               "WRITE_EXTERNAL_STORAGE", "POST_NOTIFICATION", "REQUEST_INSTALL_PACKAGES"]


def package_names(rng, n, plant):
    names = []
    seen = set()
    while len(names) < n:
        name = f"{rng.choice(VENDORS)}.{rng.choice(WORDS)}{rng.randrange(1000)}"
        if name not in seen:
            seen.add(name)
            names.append(name)
    for i, p in enumerate(plant):
        if i < len(names):
            names[i * 7 % len(names)] = p
    return names


def hexd(rng, n):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def write_getprop(out):
    props = {
        "persist.sys.timezone": "Europe/Berlin",
        "ro.build.version.sdk": "33",
        "ro.build.version.security_patch": "2023-05-01",
        "ro.product.vendor.manufacturer": "samsung",
        "ro.product.vendor.model": "SM-A525F",
        "ro.boot.serialno": "R58R12345AB",
    }
    with open(os.path.join(out, "getprop.txt"), "w") as f:
        for i in range(800):
            f.write(f"[dalvik.vm.prop{i}]: [{i}]\n")
        for k, v in props.items():
            f.write(f"[{k}]: [{v}]\n")


def write_packages(out, rng, names):
    with open(os.path.join(out, "packages.json"), "w") as f:
        f.write("[")
        for i, name in enumerate(names):
            system = rng.random() < 0.4
            files = []
            for k in range(rng.choice([1, 1, 2, 3])):
                files.append({
                    "path": f"/data/app/~~{hexd(rng, 16)}/{name}-{hexd(rng, 8)}/{'base' if k == 0 else 'split' + str(k)}.apk",
                    "local_name": "", "md5": hexd(rng, 32), "sha1": hexd(rng, 40),
                    "sha256": hexd(rng, 64), "sha512": hexd(rng, 128), "error": "",
                    "verified_certificate": True,
                    "certificate": {"Md5": hexd(rng, 32), "Sha1": hexd(rng, 40), "Sha256": hexd(rng, 64),
                                    "ValidFrom": "2020-01-01T00:00:00Z", "ValidTo": "2050-01-01T00:00:00Z",
                                    "Issuer": f"CN={name}", "Subject": f"CN={name}", "SignatureAlgorithm": "SHA256-RSA",
                                    "SerialNumber": rng.randrange(10**12)},
                    "certificate_error": "", "trusted_certificate": system,
                })
            pkg = {"name": name, "files": files,
                   "installer": "null" if system else rng.choice(INSTALLERS),
                   "uid": 10000 + i, "disabled": rng.random() < 0.02,
                   "system": system, "third_party": not system}
            f.write(("," if i else "") + json.dumps(pkg))
        f.write("]")


def write_files_json(out, rng, n, fmt, plant_hashes):
    base = 1_680_000_000
    dirs = ["/sdcard/DCIM/Camera", "/sdcard/Download", "/sdcard/Android/data", "/data/local/tmp",
            "/sdcard/WhatsApp/Media", "/sdcard/Pictures", "/sdcard/Documents"]
    with open(os.path.join(out, "files.json"), "w") as f:
        if fmt == "array":
            f.write("[")
        for i in range(n):
            d = rng.choice(dirs) if i % 5000 else "/data/local/tmp"
            m = base + rng.randrange(50_000_000)
            sha = plant_hashes[i % len(plant_hashes)] if plant_hashes and i % 9973 == 0 else ""
            entry = {"path": f"{d}/file_{i:07d}.bin", "size": rng.randrange(1 << 24),
                     "mode": "-rwxr-x---" if d == "/data/local/tmp" else "-rw-rw----",
                     "user_id": 10000, "user_name": "", "group_id": 1015, "group_name": "",
                     "changed_time": m - rng.randrange(1000), "modified_time": m, "access_time": m + rng.randrange(1000),
                     "error": "", "context": "u:object_r:media_rw_data_file:s0",
                     "sha1": "", "sha256": sha, "sha512": "", "md5": ""}
            if fmt == "array":
                f.write(("," if i else "") + json.dumps(entry))
            else:
                f.write(json.dumps(entry) + "\n")
        if fmt == "array":
            f.write("]")


def write_ps(out, rng, names):
    with open(os.path.join(out, "ps.txt"), "w") as f:
        f.write("USER           PID  PPID     VSZ    RSS WCHAN            ADDR S NAME\n")
        f.write("root             1     0   57912   2084 0                   0 S init\n")
        for i, name in enumerate(names[:500]):
            f.write(f"u0_a{i:<5} {2000 + i:>8} {700:>5} {rng.randrange(10**7):>7} {rng.randrange(10**5):>6} 0 0 S {name}\n")


def write_small_files(out, rng):
    with open(os.path.join(out, "settings_secure.txt"), "w") as f:
        for i in range(300):
            f.write(f"setting_{i}={i % 3}\n")
        f.write("package_verifier_user_consent=1\nsend_action_app_error=1\n")
    with open(os.path.join(out, "settings_global.txt"), "w") as f:
        for i in range(300):
            f.write(f"global_{i}={i}\n")
        f.write("package_verifier_enable=1\nupload_apk_enable=1\n")
    with open(os.path.join(out, "settings_system.txt"), "w") as f:
        for i in range(200):
            f.write(f"system_{i}={i}\n")
    with open(os.path.join(out, "root_binaries.json"), "w") as f:
        json.dump([], f)
    mounts = [f"/dev/block/dm-{i} on /mnt/part{i} type ext4 (ro,seclabel,noatime)" for i in range(60)]
    mounts += ["/dev/block/dm-0 on / type ext4 (ro,seclabel,noatime)",
               "/dev/block/dm-2 on /vendor type ext4 (ro,seclabel,noatime)"]
    with open(os.path.join(out, "mounts.json"), "w") as f:
        json.dump(mounts, f)
    with open(os.path.join(out, "acquisition.json"), "w") as f:
        json.dump({"uuid": "00000000-0000-4000-8000-000000000001", "androidqf_version": "bench",
                   "started": "2023-06-01T10:00:00Z", "completed": "2023-06-01T10:20:00Z",
                   "adb_host_public_key": "QUJDRA== bench@host"}, f)
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    for i in range(20):
        with open(os.path.join(out, "logs", f"log_{i}.txt"), "w") as f:
            f.write("log line\n" * rng.randrange(10, 1000))


def dumpsys_sections(rng, names, plant_apps):
    """Yields the text of the dumpsys sections, section by section."""
    yield "DUMP OF SERVICE accessibility:\n  installed services: {\n"
    yield "    0 : com.android.settings/.AccessibilityService\n  }\n"
    yield "  Enabled services:{{" + (plant_apps[0] if plant_apps else "com.example.a11y") + "/.Svc}}\n"
    yield SECTION_END + "\n"
    yield "DUMP OF SERVICE appops:\nCurrent AppOps Service state:\n  Uid 0:\n    state=pers\n"
    for i, name in enumerate(names):
        yield f"  Uid u0a{i}:\n    state=cch\n    Package {name}:\n"
        for p in rng.sample(PERMISSIONS, 3):
            yield f"      {p} (allow):\n"
            for _ in range(rng.randrange(4)):
                yield f"          Access: [fg-s] 2023-0{rng.randrange(1, 6)}-1{rng.randrange(10)} 1{rng.randrange(10)}:0{rng.randrange(10)}:00.{rng.randrange(1000):03d} (-1d)\n"
    yield "\n" + SECTION_END + "\n"
    yield "DUMP OF SERVICE package:\nReceiver Resolver Table:\n  Non-Data Actions:\n"
    yield "      android.provider.Telephony.SMS_RECEIVED:\n"
    for name in names[:50]:
        yield f"        {hexd(rng, 7)} {name}/.SmsReceiver filter {hexd(rng, 7)}\n"
    yield "\nActivity Resolver Table:\n  Non-Data Actions:\n      android.intent.action.MAIN:\n"
    for name in names[:200]:
        yield f"        {hexd(rng, 7)} {name}/.MainActivity filter {hexd(rng, 7)}\n"
    yield "\nPackages:\n"
    for i, name in enumerate(names):
        yield (f"  Package [{name}] ({hexd(rng, 7)}):\n    userId={10000 + i}\n    versionCode={rng.randrange(10**6)} minSdk=26 targetSdk=33\n"
               f"    versionName=1.{i % 10}\n    timeStamp=2023-01-0{1 + i % 9} 10:00:00\n"
               f"    firstInstallTime=2023-01-0{1 + i % 9} 10:00:00\n    lastUpdateTime=2023-03-0{1 + i % 9} 11:00:00\n"
               f"    installerPackageName={rng.choice(INSTALLERS)}\n    pkgFlags=[ HAS_CODE ALLOW_CLEAR_USER_DATA ]\n"
               "    requested permissions:\n      android.permission.INTERNET\n      android.permission.CAMERA\n"
               "    install permissions:\n      android.permission.INTERNET: granted=true\n"
               "    User 0: ceDataInode=1 installed=true\n      runtime permissions:\n"
               "        android.permission.CAMERA: granted=true\n")
    yield "\n" + SECTION_END + "\n"
    yield "DUMP OF SERVICE batterystats:\nBattery History (0% used):\n"
    for name in names[:300]:
        yield f"            +{rng.randrange(100)}s{rng.randrange(1000)}ms (2) 100 +job=u0a{rng.randrange(300)}:\"{name}/.SyncJob\"\n"
    yield "\nDaily stats:\n"
    for d in range(1, 9):
        yield f"  Daily from 2023-05-0{d}-00-00-00 to 2023-05-0{d + 1}-00-00-00:\n"
        for name in rng.sample(names, min(40, len(names))):
            yield f"      Update {name} vers={rng.randrange(1, 10**6)}\n"
    yield SECTION_END + "\n"
    yield "DUMP OF SERVICE dbinfo:\nApplications Database Info:\n"
    for name in names[:100]:
        yield (f"Connection pool for /data/user/0/{name}/databases/main.db:\n  Open: true\n"
               "      Most recently executed operations:\n")
        for k in range(5):
            yield f"        {k}: [2023-05-01 10:00:0{k}.000] [Pid:(1234)]executeForCursorWindow took 1ms - succeeded, sql=\"SELECT * FROM t\", path=/data/user/0/{name}/databases/main.db\n"
    yield SECTION_END + "\n"
    yield "DUMP OF SERVICE platform_compat:\n"
    yield "ChangeId(168419799; name=DOWNSCALED; disabled; rawOverrides={" + ", ".join(f"{n}=false" for n in names[:5]) + "}; )\n"
    yield SECTION_END + "\n"
    yield ("DUMP OF SERVICE adb:\nADB MANAGER STATE (dumpsys adb):\n{\n  debugging_manager={\n    connected_to_adb=true\n"
           "    user_keys=QUJDRA== bench@host\n\n  }\n}\n")
    yield SECTION_END + "\n"


def write_dumpsys(out, rng, names, plant_apps):
    with open(os.path.join(out, "dumpsys.txt"), "w") as f:
        for chunk in dumpsys_sections(rng, names[:200], plant_apps):
            f.write(chunk)


def write_bugreport(out, rng, names, plant_apps, megabytes):
    path = os.path.join(out, "bugreport.zip")
    target = megabytes * 1024 * 1024
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        z.writestr("main_entry.txt", "dumpstate.txt")
        z.writestr("version.txt", "2.0")
        with z.open("dumpstate.txt", "w", force_zip64=True) as d:
            written = 0

            def w(s):
                nonlocal written
                b = s.encode()
                d.write(b)
                written += len(b)

            w("========================================================\n== dumpstate: 2023-06-01 10:05:00\n")
            w("------ SYSTEM PROPERTIES (getprop) ------\n[persist.sys.timezone]: [Europe/Berlin]\n"
              "[ro.build.version.security_patch]: [2023-05-01]\n------\n")
            for chunk in dumpsys_sections(rng, names, plant_apps):
                w(chunk)
            line = 0
            tags = ["ActivityManager", "PackageManager", "WifiService", "NetworkController", "Zygote"]
            block = []
            while written < target:
                line += 1
                block.append(f"06-01 10:{line // 60000 % 60:02d}:{line // 1000 % 60:02d}.{line % 1000:03d}  1000  {1000 + line % 3000} I {tags[line % 5]}: event {line} {names[line % len(names)]}\n")
                if len(block) == 2000:
                    w("".join(block))
                    block = []
            if block:
                w("".join(block))
        for i in range(5):
            z.writestr(f"FS/data/tombstones/tombstone_0{i}",
                       "*** *** *** *** *** *** *** *** *** *** *** *** *** *** *** ***\n"
                       "Build fingerprint: 'samsung/a52q/a52q:13/TP1A/A525F:user/release-keys'\nRevision: '0'\nABI: 'arm64'\n"
                       f"Timestamp: 2023-05-2{i} 12:00:00.000000000+0200\nProcess uptime: 10s\nCmdline: /system/bin/mediaserver\n"
                       f"pid: {100 + i}, tid: {100 + i}, name: mediaserver  >>> /system/bin/mediaserver <<<\n"
                       f"uid: {1013 if i else 1000}\nsignal 11 (SIGSEGV), code 1 (SEGV_MAPERR), fault addr 0x0\n")


def zlib_json(obj):
    return zlib.compress(json.dumps(obj).encode())


def write_backup(out, rng, plant_domains, n=2000):
    sms = []
    for i in range(n):
        link = f" https://{plant_domains[i % len(plant_domains)]}/x" if plant_domains and i % 997 == 0 else (" https://example.org/page" if i % 10 == 0 else "")
        sms.append({"address": f"+4915{rng.randrange(10**8):08d}", "body": f"message {i}{link}",
                    "date": str(1_680_000_000_000 + i * 1000), "date_sent": "0" if i % 2 else str(1_680_000_000_000 + i * 1000),
                    "status": "-1", "type": "1", "read": "1"})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in [("apps/com.android.providers.telephony/d_f/000000_sms_backup", zlib_json(sms)),
                           ("apps/com.android.providers.telephony/d_f/000001_mms_backup", zlib_json([]))]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_680_000_000
            t.addfile(info, io.BytesIO(data))
    with open(os.path.join(out, "backup.ab"), "wb") as f:
        f.write(b"ANDROID BACKUP\n5\n1\nnone\n")
        f.write(zlib.compress(buf.getvalue()))


def write_intrusion_logs(out, rng, names, plant_domains, n=20000):
    d = os.path.join(out, "intrusion_logs")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "intrusion_log_1.txt"), "w") as f:
        for i in range(n):
            t = 1_685_000_000_000 + i * 1000
            host = plant_domains[i % len(plant_domains)] if plant_domains and i % 4999 == 0 else f"cdn{i % 50}.example.net"
            f.write(json.dumps({"dns_event": {"event_time": t, "hostname": host, "package_name": names[i % len(names)],
                                              "ip_addresses": [f"/192.0.2.{i % 250}"]}}) + "\n")
            if i % 4 == 0:
                f.write(json.dumps({"connect_event": {"event_time": t + 1, "ip_address": f"/198.51.100.{i % 250}", "port": 443,
                                                      "package_name": names[i % len(names)]}}) + "\n")
            if i % 10 == 0:
                f.write(json.dumps({"security_event": {"event_time": t * 1_000_000, "app_process_start": {"process": names[i % len(names)], "uid": 10000, "pid": i}}}) + "\n")


def zip_folder(folder, zip_path):
    top = os.path.basename(os.path.normpath(folder))
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as z:
        for root, _, files in os.walk(folder):
            for name in sorted(files):
                full = os.path.join(root, name)
                z.write(full, os.path.join(top, os.path.relpath(full, folder)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder to create (must not exist)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--files", type=int, default=100_000, help="entries in files.json")
    ap.add_argument("--files-format", choices=["array", "lines"], default="array")
    ap.add_argument("--packages", type=int, default=1_000)
    ap.add_argument("--bugreport-mb", type=int, default=200, help="size of the bugreport's dumpstate")
    ap.add_argument("--zip", action="store_true", help="also write OUT.zip (the folder zipped)")
    ap.add_argument("--plant-app", action="append", default=[], help="package name to plant")
    ap.add_argument("--plant-domain", action="append", default=[], help="domain to plant in SMS links and DNS events")
    ap.add_argument("--plant-hash", action="append", default=[], help="sha256 to plant in files.json")
    args = ap.parse_args()
    if os.path.exists(args.out):
        sys.exit(f"{args.out} exists; give a new folder")
    start = time.monotonic()
    rng = random.Random(args.seed)
    os.makedirs(args.out)
    names = package_names(rng, args.packages, args.plant_app)
    write_getprop(args.out)
    write_packages(args.out, rng, names)
    write_files_json(args.out, rng, args.files, args.files_format, args.plant_hash)
    write_ps(args.out, rng, names)
    write_small_files(args.out, rng)
    write_dumpsys(args.out, rng, names, args.plant_app)
    write_bugreport(args.out, rng, names, args.plant_app, args.bugreport_mb)
    write_backup(args.out, rng, args.plant_domain)
    write_intrusion_logs(args.out, rng, names, args.plant_domain)
    if args.zip:
        zip_folder(args.out, args.out.rstrip("/") + ".zip")
    total = 0
    for root, _, files in os.walk(args.out):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print(f"wrote {args.out}: {total:,} bytes in {time.monotonic() - start:.1f} s "
          f"({args.files:,} files.json entries, {args.packages:,} packages, {args.bugreport_mb} MB dumpstate)")


if __name__ == "__main__":
    main()
