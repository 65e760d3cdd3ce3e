//! The report as a table for a terminal: one line per row, columns padded, the account and
//! region only when the scan covered more than one, and a summary line last.

use super::Report;

pub fn render(report: &Report) -> String {
    let wide = report.is_wide();
    let mut lines: Vec<Vec<String>> = Vec::new();
    let header = ["ACCOUNT", "REGION", "STATUS", "RULE", "RESOURCE", "FINDING"];
    let skip = if wide { 0 } else { 2 };
    lines.push(header[skip..].iter().map(|h| (*h).to_owned()).collect());
    for row in &report.rows {
        let cells = [
            row.account.clone(),
            row.region.clone(),
            row.status.as_str().to_owned(),
            row.rule.to_owned(),
            format!("{} {}", row.resource.kind, row.resource.id),
            // One line per row, whatever a finding holds.
            row.finding.replace(['\n', '\r'], " "),
        ];
        lines.push(cells[skip..].to_vec());
    }
    let columns = lines[0].len();
    let widths: Vec<usize> = (0..columns - 1)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for line in &lines {
        for (i, cell) in line.iter().enumerate() {
            match widths.get(i) {
                Some(&width) => {
                    text.push_str(cell);
                    let pad = width - cell.chars().count();
                    text.extend(std::iter::repeat_n(' ', pad + 2));
                }
                None => text.push_str(cell),
            }
        }
        text.push('\n');
    }
    if report.rows.is_empty() {
        text.push_str("no violations found\n");
    }
    text.push_str(&report.summary());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::*;

    #[test]
    fn a_wide_report_names_account_and_region_in_aligned_columns() {
        let text = render(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("ACCOUNT       REGION     STATUS"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("111111111111  us-east-1  would-remediate"),
            "{text}"
        );
        assert!(
            lines[4].starts_with("222222222222             error "),
            "{text}"
        );
        assert!(lines[5].starts_with("2 finding(s)"), "{text}");
    }

    #[test]
    fn one_account_and_region_keeps_the_narrow_table() {
        let mut report = sample();
        report.rows.truncate(1);
        report.accounts = 1;
        report.regions.truncate(1);
        let text = render(&report);
        assert!(text.starts_with("STATUS           RULE"), "{text}");
        report.rows.clear();
        assert!(render(&report).contains("no violations found"));
    }
}
