//! The mesh's load test: `helix-lab mesh-bench`, bounded in count and time,
//! on loopback: two relay nodes, agents on each, a node restart in the
//! middle, and nothing lost.

use std::time::Duration;

#[test]
fn a_bounded_mesh_load_loses_nothing_across_a_node_restart() {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_helix-lab"));
    let mut child = std::process::Command::new(bin)
        .args([
            "mesh-bench",
            "--agents",
            "40",
            "--messages",
            "300",
            "--in-flight",
            "8",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the mesh load test ran over 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert!(status.success(), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["arrived"], 300, "{v}");
    assert_eq!(v["lost"], 0, "{v}");
    assert_eq!(v["restart"]["sent_while_down"], 150);
}
