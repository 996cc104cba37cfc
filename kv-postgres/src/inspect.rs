//! What `metakv check` reports of a PostgreSQL server's settings.

use kv_core::Finding;

/// The settings read from the server (one query on a pooled connection).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Whether the connection negotiated TLS.
    pub(crate) tls: bool,
    /// Whether every configured host is this machine (loopback or a Unix socket).
    pub(crate) loopback: bool,
    /// `default_transaction_isolation`.
    pub(crate) isolation: String,
    /// `synchronous_commit`.
    pub(crate) synchronous_commit: String,
    /// `fsync`.
    pub(crate) fsync: String,
    /// `pg_is_in_recovery()`: a standby, which refuses writes.
    pub(crate) standby: bool,
    /// `server_version`.
    pub(crate) version: String,
}

pub(crate) fn findings(s: &Settings) -> Vec<Finding> {
    let mut out = vec![Finding::ok("server", format!("PostgreSQL {}", s.version))];
    out.push(match (s.tls, s.loopback) {
        (true, _) => Finding::ok("tls", "the connection is encrypted"),
        (false, true) => Finding::ok(
            "tls",
            "not encrypted, but the server is on this machine (loopback or a Unix socket)",
        ),
        (false, false) => Finding::risk(
            "tls",
            "the connection to a remote server is not encrypted: credentials and data cross the network in clear; set database.postgres.ssl_mode = \"require\" (with tls_ca_file for a private CA)",
        ),
    });
    out.push(match s.isolation.as_str() {
        "read committed" => Finding::ok(
            "isolation",
            "default_transaction_isolation is read committed (the default the driver is built and tested on)",
        ),
        other => Finding::risk(
            "isolation",
            format!(
                "default_transaction_isolation is {other}, not the default read committed: single-key writes may fail with serialization errors the driver does not retry, and the conformance behaviours were proven on read committed; reset it for metakv's role (ALTER ROLE ... RESET default_transaction_isolation)"
            ),
        ),
    });
    out.push(match s.synchronous_commit.as_str() {
        "off" => Finding::risk(
            "synchronous_commit",
            "off: a write metakv acknowledged can be lost if the server crashes; set it to on for metakv's role",
        ),
        other => Finding::ok("synchronous_commit", other.to_string()),
    });
    if s.fsync == "off" {
        out.push(Finding::risk(
            "fsync",
            "off: a crash of the server can corrupt the database; never run production data with fsync off",
        ));
    }
    if s.standby {
        out.push(Finding::risk(
            "standby",
            "the server is a standby in recovery: every write fails; point metakv at the primary",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use kv_core::Level;

    use super::*;

    fn production() -> Settings {
        Settings {
            tls: true,
            loopback: false,
            isolation: "read committed".into(),
            synchronous_commit: "on".into(),
            fsync: "on".into(),
            standby: false,
            version: "16.4".into(),
        }
    }

    fn risks(s: &Settings) -> Vec<String> {
        findings(s)
            .into_iter()
            .filter(|f| f.level == Level::Risk)
            .map(|f| f.subject)
            .collect()
    }

    #[test]
    fn a_production_server_has_no_risk() {
        assert!(risks(&production()).is_empty());
    }

    #[test]
    fn plain_text_to_a_remote_server_is_a_risk_but_not_on_loopback() {
        let plain = Settings {
            tls: false,
            ..production()
        };
        assert_eq!(risks(&plain), ["tls"]);
        let local = Settings {
            loopback: true,
            ..plain
        };
        assert!(risks(&local).is_empty());
    }

    #[test]
    fn isolation_durability_and_standby_risks_are_reported() {
        let s = Settings {
            isolation: "serializable".into(),
            synchronous_commit: "off".into(),
            fsync: "off".into(),
            standby: true,
            ..production()
        };
        assert_eq!(
            risks(&s),
            ["isolation", "synchronous_commit", "fsync", "standby"]
        );
    }
}
