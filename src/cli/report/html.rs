//! The report as one self-contained HTML page: totals, findings per rule as an inline SVG
//! bar chart, summaries by rule and status and by account, and every row in a table that
//! sorts and filters in the browser. No external script, style, font or image: the page's
//! Content-Security-Policy allows only its own inline style and its one script, by hash.
//!
//! Resource names, tags and findings come from whoever made the resource, so every value is
//! HTML-escaped where it is written (element text and quoted attributes only), and the
//! script reads the page with `textContent`, never `innerHTML`. Should an escape ever be
//! missed, the policy still keeps an injected script from running.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{Function, Report, Row, Tally};

const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// The statuses the summary by rule has a column for, in this order; a status seen that is
/// not here (a scan never makes `remediated` or `failed`, being read-only) gets one too.
const STATUS_ORDER: &[&str] = &["would-remediate", "alert", "exempt", "error"];

pub fn render(report: &Report) -> String {
    let mut page = String::with_capacity(4096 + report.rows.len() * 600);
    let findings = report.findings();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src '{}'\">\n\
         <title>eks-remediator scan: {findings} finding(s)</title>\n<style>\n{STYLE}</style>\n\
         </head>\n<body>\n",
        script_hash()
    );
    header(&mut page, report);
    chart(&mut page, report);
    page.push_str("<section class=\"grid\">\n");
    by_rule(&mut page, report);
    by_account(&mut page, report);
    page.push_str("</section>\n");
    rows(&mut page, report);
    let _ = write!(page, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    page
}

/// The CSP source of the page's one script: `sha256-` and its digest in base64.
pub fn script_hash() -> String {
    let digest = Sha256::digest(SCRIPT.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Text safe in element content and in double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn header(page: &mut String, report: &Report) {
    let t = Tally::of(&report.rows);
    let _ = write!(
        page,
        "<header>\n<h1>EKS security posture</h1>\n<p class=\"scope\">{} account(s), {} \
         region(s) ({}). Read-only: <code>eks-remediator scan</code> changed nothing. \
         &ldquo;Fixed by the functions&rdquo; is what the deployed functions put back in \
         <code>remediate</code> mode; &ldquo;alert only&rdquo; needs a person.</p>\n</header>\n\
         <section class=\"cards\" id=\"totals\">\n",
        report.accounts,
        report.regions.len(),
        escape(&report.regions.join(", ")),
    );
    for (class, label, n) in [
        ("findings", "Findings", t.findings),
        ("fixes", "Fixed by the functions", t.fixes),
        ("alerts", "Alert only", t.alerts),
        ("exempt", "Exempt", t.exempt),
        ("error", "Failed scans", t.errors),
    ] {
        let _ = writeln!(
            page,
            "<div class=\"card {class}\" data-count=\"{n}\"><b>{n}</b>{label}</div>"
        );
    }
    page.push_str("</section>\n");
}

/// The rows grouped by `key` (a rule or an account), groups in the order they first appear.
fn group_by<'a>(report: &'a Report, key: fn(&Row) -> &str) -> Vec<(&'a str, Vec<&'a Row>)> {
    let mut groups: Vec<(&'a str, Vec<&'a Row>)> = Vec::new();
    for row in &report.rows {
        let k = key(row);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((k, vec![row])),
        }
    }
    groups
}

fn rule(row: &Row) -> &str {
    row.rule
}

fn account(row: &Row) -> &str {
    &row.account
}

/// Findings per rule, as horizontal bars split into what the functions fix and what only
/// alerts, largest first.
fn chart(page: &mut String, report: &Report) {
    let mut bars: Vec<(&str, usize, usize)> = group_by(report, rule)
        .into_iter()
        .map(|(rule, rows)| {
            let t = Tally::of(rows);
            (rule, t.fixes, t.alerts)
        })
        .filter(|(_, fixes, alerts)| fixes + alerts > 0)
        .collect();
    bars.sort_by(|a, b| (b.1 + b.2).cmp(&(a.1 + a.2)).then(a.0.cmp(b.0)));
    page.push_str(
        "<section>\n<h2>Findings per rule</h2>\n<p class=\"legend\"><span class=\"fixes\">\
         </span>fixed by the functions<span class=\"alerts\"></span>alert only</p>\n",
    );
    let (label, width, row) = (230.0, 420.0, 26.0);
    let most = bars.iter().map(|b| b.1 + b.2).max().unwrap_or(1).max(1) as f64;
    let height = (bars.len().max(1) as f64) * row + 8.0;
    let _ = writeln!(
        page,
        "<svg id=\"chart\" role=\"img\" aria-label=\"Findings per rule\" width=\"{}\" \
         height=\"{height}\" viewBox=\"0 0 {} {height}\" xmlns=\"http://www.w3.org/2000/svg\">",
        label + width + 60.0,
        label + width + 60.0
    );
    if bars.is_empty() {
        page.push_str("<text x=\"0\" y=\"20\">No findings</text>\n");
    }
    for (i, (rule, fixes, alerts)) in bars.iter().enumerate() {
        let y = i as f64 * row + 4.0;
        let rule = escape(rule);
        let fixes_width = *fixes as f64 / most * width;
        let alerts_width = *alerts as f64 / most * width;
        let _ = writeln!(
            page,
            "<g data-rule=\"{rule}\"><text x=\"0\" y=\"{}\">{rule}</text>",
            y + 14.0
        );
        for (class, n, x, w) in [
            ("fixes", fixes, label, fixes_width),
            ("alerts", alerts, label + fixes_width, alerts_width),
        ] {
            if *n > 0 {
                let _ = writeln!(
                    page,
                    "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" \
                     height=\"18\"><title>{rule}: {n} {}</title></rect>",
                    if class == "fixes" {
                        "fixed by the functions"
                    } else {
                        "alert only"
                    }
                );
            }
        }
        let _ = writeln!(
            page,
            "<text x=\"{:.1}\" y=\"{}\">{}</text></g>",
            label + fixes_width + alerts_width + 6.0,
            y + 14.0,
            fixes + alerts
        );
    }
    page.push_str("</svg>\n</section>\n");
}

/// A table of rules against statuses, with counts.
fn by_rule(page: &mut String, report: &Report) {
    let mut statuses: Vec<&str> = STATUS_ORDER.to_vec();
    for row in &report.rows {
        if !statuses.contains(&row.status.as_str()) {
            statuses.push(row.status.as_str());
        }
    }
    page.push_str("<div>\n<h2>By rule and status</h2>\n<table id=\"by-rule\">\n<tr><th>Rule</th>");
    for status in &statuses {
        let _ = write!(page, "<th class=\"n\">{}</th>", escape(status));
    }
    page.push_str("<th class=\"n\">Total</th></tr>\n");
    for (rule, rows) in group_by(report, rule) {
        let label = if rule == super::ALL_RULES {
            "all (an account or region not scanned)"
        } else {
            rule
        };
        let _ = write!(page, "<tr><td>{}</td>", escape(label));
        for status in &statuses {
            let n = rows.iter().filter(|r| r.status.as_str() == *status).count();
            let _ = write!(page, "<td class=\"n\">{n}</td>");
        }
        let _ = writeln!(page, "<td class=\"n\">{}</td></tr>", rows.len());
    }
    page.push_str("</table>\n</div>\n");
}

/// A table of accounts: regions scanned, findings by what the functions do, failed scans.
fn by_account(page: &mut String, report: &Report) {
    page.push_str(
        "<div>\n<h2>By account</h2>\n<table id=\"by-account\">\n<tr><th>Account</th>\
         <th class=\"n\">Regions</th><th class=\"n\">Findings</th><th class=\"n\">Fixed by the \
         functions</th><th class=\"n\">Alert only</th><th class=\"n\">Exempt</th>\
         <th class=\"n\">Failed scans</th></tr>\n",
    );
    for (account, rows) in group_by(report, account) {
        let regions: BTreeMap<&str, ()> = rows
            .iter()
            .filter(|r| !r.region.is_empty() && r.region != super::GLOBAL)
            .map(|r| (r.region.as_str(), ()))
            .collect();
        let t = Tally::of(rows.iter().copied());
        let _ = writeln!(
            page,
            "<tr data-account=\"{a}\"><td>{a}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td></tr>",
            regions.len(),
            t.findings,
            t.fixes,
            t.alerts,
            t.exempt,
            t.errors,
            a = escape(account),
        );
    }
    page.push_str("</table>\n</div>\n");
}

/// Every row, sortable by any column and filtered by words typed (see `report.js`).
fn rows(page: &mut String, report: &Report) {
    let _ = write!(
        page,
        "<section>\n<h2>Every row</h2>\n<div class=\"tools\"><input id=\"filter\" \
         type=\"search\" placeholder=\"Filter: words from any column, e.g. an account, region \
         or rule\" aria-label=\"Filter rows\"><span id=\"shown\">{n} of {n} rows</span></div>\n\
         <table id=\"rows\">\n<thead><tr>",
        n = report.rows.len()
    );
    for head in [
        "Account", "Region", "Rule", "Status", "Function", "Resource", "Finding", "Fix",
    ] {
        let _ = write!(
            page,
            "<th aria-sort=\"none\"><button type=\"button\">{head}</button></th>"
        );
    }
    page.push_str("</tr></thead>\n<tbody>\n");
    for row in &report.rows {
        let status = escape(row.status.as_str());
        let function = match row.function {
            Some(Function::Fixes) => "fixed by the function",
            Some(Function::Alerts) => "alert only",
            Some(Function::Skips) => "exempt",
            None => "",
        };
        let _ = writeln!(
            page,
            "<tr data-status=\"{status}\"><td>{}</td><td>{}</td><td>{}</td><td><span \
             class=\"s s-{status}\">{status}</span></td><td>{function}</td><td>{} {}</td>\
             <td>{}</td><td>{}</td></tr>",
            escape(&row.account),
            escape(&row.region),
            escape(row.rule),
            escape(row.resource.kind),
            escape(&row.resource.id),
            escape(&row.finding),
            escape(&row.fix),
        );
    }
    page.push_str("</tbody>\n</table>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::*;

    const PAYLOAD: &str = "<script>document.body.dataset.pwned=1</script>";

    #[test]
    fn names_are_text_not_markup() {
        let mut report = sample();
        report.rows[0].resource.id = PAYLOAD.to_owned();
        report.rows[1].finding = format!("\"><img src=x onerror=alert(1)>{PAYLOAD}");
        let page = render(&report);
        assert_eq!(page.matches("<script").count(), 1, "only the page's own");
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;script&gt;document.body.dataset.pwned=1&lt;/script&gt;"));
        assert!(page.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    }

    #[test]
    fn the_page_loads_nothing_and_allows_only_its_own_script() {
        let page = render(&sample());
        for external in ["src=\"http", "href=", "@import", "url("] {
            assert!(!page.contains(external), "{external}");
        }
        let policy = format!("script-src '{}'", script_hash());
        assert!(page.contains(&policy), "{policy}");
        assert!(page.contains(&format!("<script>{SCRIPT}</script>")));
        assert!(script_hash().starts_with("sha256-") && script_hash().len() == 51);
    }

    #[test]
    fn totals_chart_and_summaries_count_the_rows() {
        let page = render(&sample());
        for card in [
            "card findings\" data-count=\"2\"",
            "card fixes\" data-count=\"1\"",
            "card alerts\" data-count=\"1\"",
            "card exempt\" data-count=\"1\"",
            "card error\" data-count=\"1\"",
        ] {
            assert!(page.contains(card), "{card}");
        }
        // One bar segment per rule with findings: the open group (fixed) and the trail (alert).
        assert_eq!(page.matches("<rect class=\"fixes\"").count(), 1);
        assert_eq!(page.matches("<rect class=\"alerts\"").count(), 1);
        assert_eq!(page.matches("<tr data-status=").count(), 4);
        assert!(page.contains(
            "<tr data-account=\"111111111111\"><td>111111111111</td><td class=\"n\">2</td>\
             <td class=\"n\">2</td>"
        ));
        assert!(page.contains("<td>revoke-open-ingress</td><td class=\"n\">1</td><td class=\"n\">0</td><td class=\"n\">1</td><td class=\"n\">0</td><td class=\"n\">2</td>"));
    }
}
