//! The mesh's load test: `helix-lab mesh-bench`, bounded in count and time,
//! on loopback: two relay nodes, agents on each, a node restart in the
//! middle, and nothing lost.

use std::time::Duration;

#[test]
fn a_bounded_mesh_load_loses_nothing_across_a_node_restart() {
    let v = helix_lab::bounded::run_json(
        std::path::Path::new(env!("CARGO_BIN_EXE_helix-lab")),
        &[
            "mesh-bench",
            "--agents",
            "40",
            "--messages",
            "300",
            "--in-flight",
            "8",
            "--json",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(v["arrived"], 300, "{v}");
    assert_eq!(v["lost"], 0, "{v}");
    assert_eq!(v["restart"]["sent_while_down"], 150);
}
