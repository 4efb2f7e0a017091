//! `bridle keygen`: an ed25519 key pair for signing results, without OpenSSL.

use crate::ExitCode;
use crate::args::KeygenArgs;
use anyhow::Result;

pub fn run(args: &KeygenArgs) -> Result<ExitCode> {
    let (public, fingerprint) = bridle_report::sign::generate(&args.out)?;
    println!("secret key: {} (keep it private)", args.out.display());
    println!(
        "public key: {} (give it to whoever verifies)",
        public.display()
    );
    println!("fingerprint: {fingerprint}");
    Ok(ExitCode::Clean)
}
