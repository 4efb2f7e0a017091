//! packages.json: the installed packages, with their installer, APK files, file hashes and
//! signing certificates.

use super::aqf_common::{cite, not_found, open_member, report_json};
use crate::androidqf::AndroidQf;
use crate::json_stream::for_each_value;
use bridle_model::{
    Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source,
};
use serde_json::Value;
use std::sync::Arc;

android_module!(
    AqfPackages,
    Arc<AndroidQf>,
    "aqf_packages",
    "AQFPackages",
    "Installed packages (packages.json): installers, APK and certificate hashes, rooting apps, disabled security packages"
);

/// Apps that root a phone or hide that it is rooted.
pub const ROOT_PACKAGES: [&str; 25] = [
    "com.noshufou.android.su",
    "com.noshufou.android.su.elite",
    "eu.chainfire.supersu",
    "com.koushikdutta.superuser",
    "com.thirdparty.superuser",
    "com.yellowes.su",
    "com.koushikdutta.rommanager",
    "com.koushikdutta.rommanager.license",
    "com.dimonvideo.luckypatcher",
    "com.chelpus.lackypatch",
    "com.ramdroid.appquarantine",
    "com.ramdroid.appquarantinepro",
    "com.devadvance.rootcloak",
    "com.devadvance.rootcloakplus",
    "de.robv.android.xposed.installer",
    "com.saurik.substrate",
    "com.zachspong.temprootremovejb",
    "com.amphoras.hidemyroot",
    "com.amphoras.hidemyrootadfree",
    "com.formyhm.hiderootPremium",
    "com.formyhm.hideroot",
    "me.phh.superuser",
    "eu.chainfire.supersu.pro",
    "com.kingouser.com",
    "com.topjohnwu.magisk",
];

/// Vendor security agents; disabling them is suspicious.
pub const SECURITY_PACKAGES: [&str; 4] = [
    "com.policydm",
    "com.samsung.android.app.omcagent",
    "com.samsung.android.securitylogagent",
    "com.sec.android.soagent",
];

/// System update agents; disabling them keeps a phone unpatched.
pub const SYSTEM_UPDATE_PACKAGES: [&str; 9] = [
    "com.android.updater",
    "com.google.android.gms",
    "com.huawei.android.hwouc",
    "com.lge.lgdmsclient",
    "com.motorola.ccc.ota",
    "com.oneplus.opbackup",
    "com.oppo.ota",
    "com.transsion.systemupdate",
    "com.wssyncmldm",
];

const THIRD_PARTY_STORE_INSTALLERS: [&str; 2] = ["com.aurora.store", "org.fdroid.fdroid"];
const BROWSER_INSTALLERS: [&str; 2] = [
    "com.google.android.packageinstaller",
    "com.android.packageinstaller",
];

/// MVT's heuristics on one package (levels and messages as MVT's).
pub fn package_heuristics(pkg: &serde_json::Map<String, Value>) -> Vec<Heuristic> {
    let s = |k: &str| pkg.get(k).and_then(Value::as_str).unwrap_or_default();
    let name = s("name");
    let installer = s("installer");
    let mut out = Vec::new();
    if ROOT_PACKAGES.contains(&name) {
        out.push(Heuristic::new(
            Level::Medium,
            format!("Found an installed package related to rooting/jailbreaking: \"{name}\""),
        ));
        return out;
    }
    if THIRD_PARTY_STORE_INSTALLERS.contains(&installer) {
        out.push(Heuristic::new(
            Level::Informational,
            format!("Found a package installed via a third party store (installer=\"{installer}\"): \"{name}\""),
        ));
    } else if BROWSER_INSTALLERS.contains(&installer) {
        out.push(Heuristic::new(
            Level::Medium,
            format!(
                "Found a package installed via a browser (installer=\"{installer}\"): \"{name}\""
            ),
        ));
    } else if installer == "null" && pkg.get("system") == Some(&Value::Bool(false)) {
        out.push(Heuristic::new(
            Level::Medium,
            format!("Found a non-system package installed via adb or another method: \"{name}\""),
        ));
    }
    let disabled = pkg.get("disabled").is_some_and(|d| match d {
        Value::Bool(b) => *b,
        Value::Null => false,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    });
    if disabled && SECURITY_PACKAGES.contains(&name) {
        out.push(Heuristic::new(
            Level::Medium,
            format!("Security package \"{name}\" disabled on the phone"),
        ));
    }
    if disabled && SYSTEM_UPDATE_PACKAGES.contains(&name) {
        out.push(Heuristic::new(
            Level::Medium,
            format!("System OTA update package \"{name}\" disabled on the phone"),
        ));
    }
    out
}

fn observe_files(r: &mut Record, files: Option<&Value>) {
    let Some(Value::Array(files)) = files else {
        return;
    };
    for f in files {
        let s = |k: &str| {
            f.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        r.observe(Observable::new(
            ObservableKind::FilePath,
            s("path"),
            "files.path",
        ));
        for h in ["sha256", "sha1", "md5"] {
            r.observe(Observable::new(
                ObservableKind::FileHash,
                s(h),
                "files.hash",
            ));
        }
        if let Some(cert) = f.get("certificate") {
            for h in ["Md5", "Sha1", "Sha256"] {
                let v = cert.get(h).and_then(Value::as_str).unwrap_or_default();
                r.observe(Observable::new(
                    ObservableKind::CertHash,
                    v,
                    "files.certificate",
                ));
            }
        }
    }
}

fn run(aqf: &Arc<AndroidQf>, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let files = aqf.files();
    let Some(name) = files.find("packages.json").map(|e| e.name.clone()) else {
        return Ok(not_found("packages.json"));
    };
    let file = cite(files, &name)?;
    let reader = open_member(files, &name)?;
    let mut not_objects = 0u64;
    let stats = for_each_value(reader, |v, i| {
        let Value::Object(pkg) = v else {
            not_objects += 1;
            return;
        };
        let mut r = Record::new(Source::row(&file, "packages", i));
        let s = |k: &str| {
            pkg.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        r.observe(Observable::new(ObservableKind::AppId, s("name"), "name"));
        let installer = s("installer");
        if installer != "null" {
            r.observe(Observable::new(
                ObservableKind::AppId,
                installer,
                "installer",
            ));
        }
        observe_files(&mut r, pkg.get("files"));
        for h in package_heuristics(&pkg) {
            r.alert(h);
        }
        r.data = pkg;
        sink.record(r);
    });
    report_json(files, &name, &stats, not_objects, sink);
    Ok(ModuleOutcome::Done)
}
