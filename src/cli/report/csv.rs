//! The report as CSV (RFC 4180, through the `csv` crate), for spreadsheets and other tools.
//! A cell that a spreadsheet would read as a formula (it starts with `=`, `+`, `-`, `@`, a
//! tab or a carriage return: OWASP's CSV injection list) gets a leading `'`: resource names
//! and tags are chosen by whoever made the resource.

use super::Report;

pub const HEADER: [&str; 11] = [
    "account",
    "region",
    "rule",
    "status",
    "function",
    "resource_type",
    "resource_id",
    "resource_arn",
    "finding",
    "fix",
    "actions",
];

pub fn render(report: &Report) -> Result<String, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(HEADER).map_err(|e| e.to_string())?;
    for row in &report.rows {
        let cells = [
            row.account.as_str(),
            row.region.as_str(),
            row.rule,
            row.status.as_str(),
            row.function.map(|f| f.as_str()).unwrap_or_default(),
            row.resource.kind,
            row.resource.id.as_str(),
            row.resource.arn.as_deref().unwrap_or_default(),
            row.finding.as_str(),
            row.fix.as_str(),
            &row.actions.join("; "),
        ];
        writer
            .write_record(cells.iter().map(|c| defused(c)))
            .map_err(|e| e.to_string())?;
    }
    let bytes = writer.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

fn defused(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::*;

    #[test]
    fn every_row_is_a_record_with_quotes_where_needed() {
        let mut report = sample();
        report.rows[0].finding = "a \"quoted\", two-line\nfinding".into();
        report.rows[1].resource.id = "=HYPERLINK(\"http://x\")".into();
        let text = render(&report).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(reader.headers().unwrap(), HEADER.as_slice());
        let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(records.len(), 4);
        assert_eq!(&records[0][8], "a \"quoted\", two-line\nfinding");
        assert_eq!(&records[0][4], "fixes");
        assert_eq!(&records[1][6], "'=HYPERLINK(\"http://x\")");
        assert_eq!(&records[3][3], "error");
        assert_eq!(&records[3][1], "");
    }
}
