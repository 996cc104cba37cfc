//! What `metakv check` reports of a DynamoDB table's settings.

use kv_core::Finding;

/// How the table is billed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Billing {
    /// Pay per request.
    OnDemand,
    /// Provisioned read and write capacity units.
    Provisioned { read: i64, write: i64 },
}

/// What was read of the table and the account (`DescribeTable`, `DescribeContinuousBackups`,
/// `DescribeLimits`); an `Err` is why a call failed.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    pub(crate) table: String,
    pub(crate) status: String,
    pub(crate) billing: Billing,
    pub(crate) deletion_protection: Option<bool>,
    pub(crate) point_in_time_recovery: Result<bool, String>,
    /// The account's per-table maximum read and write capacity units.
    pub(crate) table_limits: Result<(i64, i64), String>,
}

/// Provisioned capacity at or above this share of the per-table maximum is "near its limit":
/// the table cannot be scaled much further when load grows.
const NEAR_LIMIT: f64 = 0.8;

pub(crate) fn findings(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    out.push(if f.status == "ACTIVE" {
        Finding::ok("table", format!("{} is active", f.table))
    } else {
        Finding::risk(
            "table",
            format!("{} is {}, not ACTIVE: requests may fail", f.table, f.status),
        )
    });
    out.push(match (&f.billing, &f.table_limits) {
        (Billing::OnDemand, _) => Finding::ok("capacity", "on-demand (pay per request)"),
        (Billing::Provisioned { read, write }, Ok((max_read, max_write))) => {
            let near = |used: i64, max: i64| max > 0 && used as f64 >= NEAR_LIMIT * max as f64;
            let detail = format!(
                "provisioned {read} RCU / {write} WCU; the account allows {max_read} / {max_write} per table"
            );
            if near(*read, *max_read) || near(*write, *max_write) {
                Finding::risk(
                    "capacity",
                    format!(
                        "{detail}: near the limit, so the table cannot grow much further under more load; ask AWS for a higher quota or switch to on-demand"
                    ),
                )
            } else {
                Finding::ok(
                    "capacity",
                    format!("{detail}; bursts beyond it are throttled (retried, then Throttled)"),
                )
            }
        }
        (Billing::Provisioned { read, write }, Err(why)) => Finding::unknown(
            "capacity",
            format!(
                "provisioned {read} RCU / {write} WCU; the account's per-table limit could not be read ({why})"
            ),
        ),
    });
    out.push(match &f.point_in_time_recovery {
        Ok(true) => Finding::ok("point-in-time recovery", "enabled"),
        Ok(false) => Finding::risk(
            "point-in-time recovery",
            format!(
                "disabled: a bad write or a dropped table cannot be restored; aws dynamodb update-continuous-backups --table-name {} --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true",
                f.table
            ),
        ),
        Err(why) => Finding::unknown("point-in-time recovery", format!("could not be read ({why})")),
    });
    out.push(match f.deletion_protection {
        Some(true) => Finding::ok("deletion protection", "enabled"),
        Some(false) => Finding::risk(
            "deletion protection",
            "disabled: one DeleteTable call removes every partition; enable it with aws dynamodb update-table --deletion-protection-enabled",
        ),
        None => Finding::unknown("deletion protection", "not reported by the endpoint"),
    });
    out
}

#[cfg(test)]
mod tests {
    use kv_core::Level;

    use super::*;

    fn production() -> Facts {
        Facts {
            table: "metakv".into(),
            status: "ACTIVE".into(),
            billing: Billing::OnDemand,
            deletion_protection: Some(true),
            point_in_time_recovery: Ok(true),
            table_limits: Ok((40_000, 40_000)),
        }
    }

    fn levels(f: &Facts) -> Vec<(String, Level)> {
        findings(f)
            .into_iter()
            .filter(|f| f.level != Level::Ok)
            .map(|f| (f.subject, f.level))
            .collect()
    }

    #[test]
    fn a_production_table_has_no_risk() {
        assert!(levels(&production()).is_empty());
    }

    #[test]
    fn no_point_in_time_recovery_and_no_deletion_protection_are_risks() {
        let f = Facts {
            point_in_time_recovery: Ok(false),
            deletion_protection: Some(false),
            ..production()
        };
        assert_eq!(
            levels(&f),
            [
                ("point-in-time recovery".to_string(), Level::Risk),
                ("deletion protection".to_string(), Level::Risk)
            ]
        );
    }

    #[test]
    fn provisioned_capacity_near_the_table_limit_is_a_risk() {
        let near = Facts {
            billing: Billing::Provisioned {
                read: 100,
                write: 36_000,
            },
            ..production()
        };
        assert_eq!(levels(&near), [("capacity".to_string(), Level::Risk)]);
        let far = Facts {
            billing: Billing::Provisioned {
                read: 100,
                write: 100,
            },
            ..production()
        };
        assert!(levels(&far).is_empty());
    }

    #[test]
    fn what_could_not_be_read_is_unknown_not_fine() {
        let f = Facts {
            billing: Billing::Provisioned { read: 5, write: 5 },
            point_in_time_recovery: Err("UnknownOperationException".into()),
            table_limits: Err("UnknownOperationException".into()),
            ..production()
        };
        assert_eq!(
            levels(&f),
            [
                ("capacity".to_string(), Level::Unknown),
                ("point-in-time recovery".to_string(), Level::Unknown)
            ]
        );
    }
}
