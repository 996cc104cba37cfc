//! What `metakv check` reports of a Cosmos DB account's settings.

use kv_core::Finding;

use crate::client::AccountConsistency;

/// What was read: the account's consistency and regions, and the relevant configuration.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    pub(crate) account: AccountConsistency,
    pub(crate) accept_weak_consistency: bool,
    pub(crate) preferred_regions: usize,
    pub(crate) emulator: bool,
    /// Whether the container exists and is partitioned on `/p` (`Err`: why not).
    pub(crate) container: Result<(), String>,
}

pub(crate) fn findings(f: &Facts) -> Vec<Finding> {
    let AccountConsistency {
        level,
        read_regions,
        multi_region_writes,
    } = &f.account;
    let mut out = Vec::new();
    out.push(match (level.as_str(), *read_regions <= 1 && !multi_region_writes) {
        ("Strong", _) => Finding::ok("default consistency", "Strong"),
        ("BoundedStaleness", true) => Finding::ok(
            "default consistency",
            "Bounded Staleness in one region (reads and writes in the same region are linearizable)",
        ),
        (level, _) => Finding::risk(
            "default consistency",
            format!(
                "{level}{}: reads and scans may miss acknowledged writes, so conditional read-modify-write loops can act on stale versions; set the account to Strong (or Bounded Staleness with one region){}",
                if level == "BoundedStaleness" { " with several regions" } else { "" },
                if f.accept_weak_consistency {
                    "; accepted here by accept_weak_consistency = true"
                } else {
                    ""
                }
            ),
        ),
    });
    out.push(if *multi_region_writes {
        Finding::risk(
            "regions",
            format!(
                "multi-region writes on {read_regions} regions: two regions can both accept a conditional write of one key (conflicts are resolved afterwards, last writer wins), which breaks Absent and Version conditions; use a single write region"
            ),
        )
    } else if *read_regions > 1 && f.preferred_regions == 0 {
        Finding::ok(
            "regions",
            format!(
                "one write region, {read_regions} read regions in the account's order; set preferred_regions to read from the nearest"
            ),
        )
    } else {
        Finding::ok(
            "regions",
            format!("one write region, {read_regions} read region(s)"),
        )
    });
    if f.emulator {
        out.push(Finding::risk(
            "emulator",
            "emulator = true: the endpoint's certificate is not verified (allowed only for localhost); never set it for a real account",
        ));
    }
    out.push(match &f.container {
        Ok(()) => Finding::ok("container", "exists, partitioned on /p"),
        Err(why) => Finding::risk("container", why.clone()),
    });
    out
}

#[cfg(test)]
mod tests {
    use kv_core::Level;

    use super::*;

    fn facts(level: &str, read_regions: usize, multi_region_writes: bool) -> Facts {
        Facts {
            account: AccountConsistency {
                level: level.into(),
                read_regions,
                multi_region_writes,
            },
            accept_weak_consistency: false,
            preferred_regions: 0,
            emulator: false,
            container: Ok(()),
        }
    }

    fn risks(f: &Facts) -> Vec<String> {
        findings(f)
            .into_iter()
            .filter(|f| f.level == Level::Risk)
            .map(|f| f.subject)
            .collect()
    }

    #[test]
    fn strong_or_single_region_bounded_staleness_is_fine() {
        assert!(risks(&facts("Strong", 3, false)).is_empty());
        assert!(risks(&facts("BoundedStaleness", 1, false)).is_empty());
    }

    #[test]
    fn weak_consistency_and_multi_region_writes_are_risks() {
        assert_eq!(risks(&facts("Session", 1, false)), ["default consistency"]);
        assert_eq!(
            risks(&facts("BoundedStaleness", 2, false)),
            ["default consistency"]
        );
        assert_eq!(
            risks(&facts("Session", 3, true)),
            ["default consistency", "regions"]
        );
    }

    #[test]
    fn the_emulator_flag_and_a_missing_container_are_risks() {
        let f = Facts {
            emulator: true,
            container: Err("database metakv or container metakv does not exist".into()),
            ..facts("Strong", 1, false)
        };
        assert_eq!(risks(&f), ["emulator", "container"]);
    }
}
