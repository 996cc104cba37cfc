//! The client is thin: none of the server's crates is in its dependency tree.

#[test]
fn the_client_depends_on_no_server_crate() {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-p",
            "metakv-client",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).unwrap();
    let names: std::collections::BTreeSet<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        names.contains("reqwest") && names.contains("kv-core"),
        "{tree}"
    );
    for server_crate in [
        "metakv",
        "axum",
        "axum-server",
        "clap",
        "figment",
        "metrics-exporter-prometheus",
        "tracing-subscriber",
        "tokio-postgres",
        "aws-sdk-dynamodb",
        "azure_data_cosmos",
        "redb",
    ] {
        assert!(
            !names.contains(server_crate),
            "{server_crate} is in the client's tree:\n{tree}"
        );
    }
}
