//! Kubernetes versions on EKS: the support window of each version (`DescribeClusterVersions`)
//! and the add-on versions compatible with one (`DescribeAddonVersions`), for the sweep's
//! version hygiene.

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

/// A calendar day as EKS gives support dates: seconds since the epoch, shown as `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day {
    pub epoch_seconds: i64,
}

impl Day {
    pub fn from_epoch_seconds(epoch_seconds: i64) -> Day {
        Day { epoch_seconds }
    }

    /// Parses an RFC 3339 time (`2026-11-28T06:00:00Z`), as EventBridge gives an event's.
    pub fn parse_rfc3339(text: &str) -> Option<Day> {
        DateTime::from_str(text, Format::DateTime)
            .ok()
            .map(|t| Day::from_epoch_seconds(t.secs()))
    }

    /// The current day, from the system clock.
    pub fn today() -> Day {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Day::from_epoch_seconds(i64::try_from(now).unwrap_or(i64::MAX))
    }

    /// Calendar days (UTC) from this day to `later`: 1 from any time of 2026-03-22 to
    /// 2026-03-23, negative when `later` is earlier. Support dates are midnights, while a
    /// sweep's day carries its time of day; counting dates keeps "days left" what a calendar
    /// shows.
    pub fn days_until(&self, later: Day) -> i64 {
        const DAY: i64 = 86_400;
        later.epoch_seconds.div_euclid(DAY) - self.epoch_seconds.div_euclid(DAY)
    }

    /// `YYYY-MM-DD`.
    pub fn label(&self) -> String {
        DateTime::from_secs(self.epoch_seconds)
            .fmt(Format::DateTime)
            .map(|t| t.chars().take(10).collect())
            .unwrap_or_else(|_| self.epoch_seconds.to_string())
    }
}

/// The support window of one Kubernetes version on EKS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionSupport {
    pub version: String,
    /// EKS's default version for new clusters: the upgrade we recommend.
    pub default: bool,
    pub end_of_standard: Option<Day>,
    pub end_of_extended: Option<Day>,
    /// `STANDARD_SUPPORT`, `EXTENDED_SUPPORT` or `UNSUPPORTED`, as of when EKS answered.
    pub status: Option<String>,
}

/// One add-on version and whether it is EKS's default for the Kubernetes version asked about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddonVersion {
    pub version: String,
    pub default: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_and_print_as_dates() {
        let day = Day::parse_rfc3339("2026-11-28T06:00:00Z").unwrap();
        assert_eq!(day.label(), "2026-11-28");
        assert_eq!(Day::from_epoch_seconds(1_742_688_000).label(), "2025-03-23");
        assert!(Day::parse_rfc3339("now").is_none());
    }

    #[test]
    fn days_until_counts_calendar_days() {
        let morning = Day::parse_rfc3339("2026-01-22T06:00:00Z").unwrap();
        let end = Day::parse_rfc3339("2026-03-23T00:00:00Z").unwrap();
        assert_eq!(morning.days_until(end), 60);
        assert_eq!(end.days_until(morning), -60);
        assert_eq!(end.days_until(end), 0);
    }
}
