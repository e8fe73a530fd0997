//! Helpers shared by the CLI's test files.

/// The number that follows `prefix` on a line of an engine or demo report
/// (leading spaces ignored), e.g. `report_number(r, "frames      in ")`.
/// Panics with the report if there is none: a missing line is a failure.
pub fn report_number<T: std::str::FromStr>(report: &str, prefix: &str) -> T {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix(prefix))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {prefix:?} in:\n{report}"))
}
