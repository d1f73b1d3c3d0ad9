use std::process::ExitCode;

use helix_core::{Adapter, ErrorSignal, Failure};

pub fn run(text: &str, status: Option<u16>, body: bool, json: bool) -> Result<ExitCode, String> {
    let signal = if body {
        ErrorSignal::from_http(status.unwrap_or(0), |_| None, text.as_bytes())
    } else {
        let mut s = ErrorSignal::message(text);
        s.http_status = status;
        s
    };
    let found = helix_platforms::builtin().perceive(&signal);
    let f = found
        .clone()
        .unwrap_or_else(|| Failure::unknown(signal.platform));
    if json {
        let v = serde_json::json!({
            "code": f.code,
            "category": f.category,
            "severity": f.severity,
            "platform": f.platform,
            "evidence": f.evidence,
            "recognised": found.is_some(),
            "facts": f.facts,
        });
        println!("{v}");
    } else if found.is_some() {
        println!(
            "{}/{}  severity {}  platform {}  (from {:?})",
            f.code, f.category, f.severity, f.platform, f.evidence
        );
    } else {
        println!("unknown: no adapter recognises this failure (it is not forced into a category)");
    }
    Ok(ExitCode::SUCCESS)
}
