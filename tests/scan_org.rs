//! Integration tests of `eks-remediator scan` across accounts and regions: the CLI binary
//! against moto's Organizations, STS and every scanned service, through the recording proxy.
//!
//! moto differs from AWS here, and the tests check AWS's documented behaviour:
//! - moto's `AssumeRole` never refuses (the role need not exist, the trust policy is not
//!   read), so the account whose role "cannot be assumed" is refused by the proxy with the
//!   403 `AccessDenied` answer STS gives;
//! - there is one organisation per calling account, so each test is the management account
//!   of an organisation of its own (a fresh account id, through moto's STS);
//! - `ListAccounts` lists suspended accounts too (AWS does, with their state), and the
//!   management account (as AWS does): the CLI scans the active ones;
//! - `DescribeRegions` lists every region, with `not-opted-in` for those AWS would leave out
//!   of the answer; a test that needs an exact list gets it from the proxy;
//! - moto lacks `DescribeClusterVersions` and EKS add-ons: the proxy answers them as in
//!   `tests/sweep.rs`.
//!
//! The HTML report is loaded in headless Chromium (Debian's `chromium`, which
//! `scripts/tools.sh` installs; `CHROMIUM` names another): the DOM after its script ran must
//! hold the rows, counts and chart, and a cluster named with markup must be text.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use aws_sdk_guardduty::types::{DetectorFeature, DetectorFeatureConfiguration, FeatureStatus};
use eks_remediator::aws::Aws;
use serde_json::Value;
use support::proxy::{Canned, Fault, Proxy};
use support::{role, trail, unique, Keys};

const WORKER: &str = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy";
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const EC2: &str = "ec2.amazonaws.com";
const VERSION: &str = "1.34";
/// A cluster name that is markup: moto takes any name (EKS allows only letters, digits, `-`
/// and `_`), and whatever a name holds must reach the report as text.
const PAYLOAD: &str = "<img src=x onerror=document.body.dataset.pwned=1>";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
/// A tag value that is a script: EC2 tag values may hold any character, and a node's finding
/// names the cluster its tags give.
const SCRIPT: &str = "<script>document.body.dataset.pwned=1</script>";

/// An organisation: its management account and keys, three active members and a closed one.
struct Org {
    management: String,
    keys: Keys,
    members: [String; 3],
    closed: String,
}

async fn organisation(management: &str) -> Org {
    let keys = support::assumed(management).await;
    let config = support::sdk_config_with(support::moto_url(), "us-east-1", &keys);
    let client = aws_sdk_organizations::Client::new(&config);
    client
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for name in ["alpha", "bravo", "charlie", "closed"] {
        let out = client
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .unwrap();
        let status = out.create_account_status().unwrap();
        ids.push(status.account_id().unwrap().to_owned());
    }
    client
        .close_account()
        .account_id(&ids[3])
        .send()
        .await
        .unwrap();
    Org {
        management: management.to_owned(),
        keys,
        members: [ids[0].clone(), ids[1].clone(), ids[2].clone()],
        closed: ids[3].clone(),
    }
}

/// An SDK context acting in `account` and `region`.
async fn inside(account: &str, region: &str) -> Aws {
    Aws::with_config(support::in_account(region, account).await.1)
}

/// A security group of an EKS cluster with tcp/22 open to the world; returns its id.
async fn open_eks_group(aws: &Aws) -> String {
    let vpc = support::vpc(aws, "10.7.0.0/16").await;
    support::ssh_group(aws, &vpc, true, "0.0.0.0/0").await
}

/// A cluster named `name` with a public endpoint open to the world.
async fn public_cluster(aws: &Aws, name: &str) {
    aws.eks()
        .await
        .create_cluster()
        .name(name)
        .version(VERSION)
        .role_arn("arn:aws:iam::123456789012:role/eks-cluster-role")
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-0123456789abcdef0")
                .endpoint_public_access(true)
                .endpoint_private_access(false)
                .public_access_cidrs("0.0.0.0/0")
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// What a region needs for restore-audit-trail to find nothing: a detector watching EKS
/// (audit logs and runtime monitoring) and a trail that logs.
async fn watched(aws: &Aws) {
    let feature = |name: DetectorFeature| {
        DetectorFeatureConfiguration::builder()
            .name(name)
            .status(FeatureStatus::Enabled)
            .build()
    };
    aws.guardduty()
        .await
        .create_detector()
        .enable(true)
        .features(feature(DetectorFeature::EksAuditLogs))
        .features(feature(DetectorFeature::RuntimeMonitoring))
        .send()
        .await
        .unwrap();
    trail(aws, true, &[]).await;
}

/// A proxy in front of moto that answers what moto lacks (EKS versions, add-ons) and refuses
/// `AssumeRole` into `denied`.
async fn proxy(denied: Option<&str>) -> Proxy {
    let proxy = Proxy::start(support::moto_url()).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let day = 86_400;
    proxy.inject(Fault {
        path_suffix: "/cluster-versions".into(),
        body_contains: None,
        times: usize::MAX,
        answer: support::proxy::ok_json(serde_json::json!({"clusterVersions": [
            {"clusterVersion": VERSION, "clusterType": "eks", "defaultPlatformVersion": "eks.8",
             "defaultVersion": true, "releaseDate": now - 300 * day,
             "endOfStandardSupportDate": now + 300 * day,
             "endOfExtendedSupportDate": now + 665 * day, "status": "STANDARD_SUPPORT",
             "versionStatus": "STANDARD_SUPPORT", "kubernetesPatchVersion": "1.34.2"}]})),
    });
    proxy.inject(Fault {
        path_suffix: "/addons/coredns".into(),
        body_contains: None,
        times: usize::MAX,
        answer: support::proxy::addon_not_found("coredns"),
    });
    if let Some(denied) = denied {
        proxy.inject(Fault {
            path_suffix: "/".into(),
            body_contains: Some(format!("iam%3A%3A{denied}%3Arole")),
            times: usize::MAX,
            answer: Canned {
                status: 403,
                headers: vec![("Content-Type".into(), "text/xml".into())],
                body: format!(
                    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
                     <Type>Sender</Type><Code>AccessDenied</Code><Message>User: \
                     arn:aws:sts::210000000000:assumed-role/tests/tests is not authorized to \
                     perform: sts:AssumeRole on resource: \
                     arn:aws:iam::{denied}:role/OrganizationAccountAccessRole</Message></Error>\
                     <RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
                ),
            },
        });
    }
    proxy
}

/// Runs `eks-remediator scan ARGS` as a newcomer would, with `keys` and every call through
/// `proxy`.
async fn scan(proxy: &Proxy, keys: &Keys, args: &[&str]) -> Output {
    cli(proxy, keys, Some("us-east-1"), "eks-remediator", args)
        .output()
        .await
        .unwrap()
}

/// The command `program ARGS` (`script` for a terminal) with the CLI's environment: `keys`,
/// every call through `proxy`, `region` configured or not.
fn cli(
    proxy: &Proxy,
    keys: &Keys,
    region: Option<&str>,
    program: &str,
    args: &[&str],
) -> tokio::process::Command {
    let mut command = if program == "eks-remediator" {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_eks-remediator"));
        command.arg("scan");
        command
    } else {
        tokio::process::Command::new(program)
    };
    command
        .args(args)
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .env("AWS_ACCESS_KEY_ID", &keys.id)
        .env("AWS_SECRET_ACCESS_KEY", &keys.secret)
        .env("AWS_SESSION_TOKEN", &keys.token)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("MODE", "remediate")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("ALERT_TOPIC_ARN")
        .env_remove("AWS_PROFILE");
    if let Some(region) = region {
        command.env("AWS_REGION", region);
    }
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `(account, region, rule, status, resource id)` of every row.
fn keys_of(rows: &[Value]) -> Vec<(String, String, String, String, String)> {
    let mut keys: Vec<_> = rows
        .iter()
        .map(|r| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (
                s(&r["account"]),
                s(&r["region"]),
                s(&r["rule"]),
                s(&r["status"]),
                s(&r["resource"]["id"]),
            )
        })
        .collect();
    keys.sort();
    keys
}

/// The seeded organisation: what was put where.
struct Seeded {
    org: Org,
    open_group: String,
    node_role: String,
    /// A node on IMDSv1 in bravo's eu-west-1, its cluster tag [`SCRIPT`].
    node: String,
}

/// alpha has an open EKS group in us-east-1, bravo a public cluster named [`PAYLOAD`], a node
/// on IMDSv1 tagged with [`SCRIPT`] in eu-west-1 and an administrator node role; charlie cannot be entered; the management
/// account is clean but for what every empty region lacks (a detector, a trail).
async fn seeded(management: &str) -> Seeded {
    let org = organisation(management).await;
    let [alpha, bravo, _] = &org.members;
    let open_group = open_eks_group(&inside(alpha, "us-east-1").await).await;
    let bravo_west = inside(bravo, "eu-west-1").await;
    public_cluster(&bravo_west, PAYLOAD).await;
    let node_role = role(&bravo_west, EC2, &[WORKER, ADMIN], &[], None).await;
    let node = support::instance(&bravo_west, &[("eks:cluster-name", SCRIPT)], "optional", 2).await;
    Seeded {
        org,
        open_group,
        node_role,
        node,
    }
}

#[tokio::test]
async fn an_organisation_scan_covers_every_active_account_and_region_and_names_what_it_could_not_enter(
) {
    let s = seeded("210000000001").await;
    let [alpha, bravo, charlie] = &s.org.members;
    let proxy = proxy(Some(charlie)).await;
    let out = scan(
        &proxy,
        &s.org.keys,
        &[
            "--org",
            "--regions",
            "us-east-1,eu-west-1,ap-east-1",
            "--external-id",
            "xyz",
            "--format",
            "json",
        ],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "a failed scan wins: {stderr}");
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();

    // Every active account, the management account included; never the closed one.
    let accounts: std::collections::BTreeSet<&str> =
        rows.iter().filter_map(|r| r["account"].as_str()).collect();
    let expected: std::collections::BTreeSet<&str> =
        [s.org.management.as_str(), alpha, bravo, charlie]
            .into_iter()
            .collect();
    assert_eq!(accounts, expected);
    assert!(!text(&out.stdout).contains(&s.org.closed));

    // charlie: one error row, naming the refusal; nothing scanned there.
    let charlie_rows: Vec<&Value> = rows.iter().filter(|r| r["account"] == **charlie).collect();
    assert_eq!(charlie_rows.len(), 1, "{charlie_rows:?}");
    assert_eq!(charlie_rows[0]["status"], "error");
    let reason = charlie_rows[0]["finding"].as_str().unwrap();
    assert!(
        reason.contains("AccessDenied")
            && reason.contains(&format!(
                "arn:aws:iam::{charlie}:role/OrganizationAccountAccessRole"
            )),
        "{reason}"
    );

    // The entered accounts: both enabled regions scanned (each lacks a detector: a row in
    // each), ap-east-1 an error row (moto: not-opted-in), IAM once, as `global`.
    for account in [s.org.management.as_str(), alpha, bravo] {
        for region in REGIONS {
            assert!(
                rows.iter().any(|r| r["account"] == account
                    && r["region"] == region
                    && r["rule"] == "restore-audit-trail"
                    && r["resource"]["id"] == "none"),
                "{account} {region} scanned"
            );
        }
        let off: Vec<&Value> = rows
            .iter()
            .filter(|r| r["account"] == account && r["region"] == "ap-east-1")
            .collect();
        assert_eq!(off.len(), 1, "{off:?}");
        assert_eq!(off[0]["status"], "error");
        assert!(off[0]["finding"]
            .as_str()
            .unwrap()
            .contains("not a region this account has enabled"));
    }
    let found = keys_of(&rows);
    let row = |account: &str, region: &str, rule: &str, status: &str, id: &str| {
        (
            account.to_owned(),
            region.to_owned(),
            rule.to_owned(),
            status.to_owned(),
            id.to_owned(),
        )
    };
    for expected in [
        row(
            alpha,
            "us-east-1",
            "revoke-open-ingress",
            "would-remediate",
            &s.open_group,
        ),
        row(
            bravo,
            "eu-west-1",
            "enforce-cluster-config",
            "would-remediate",
            PAYLOAD,
        ),
        row(
            bravo,
            "global",
            "detach-node-policy",
            "would-remediate",
            &s.node_role,
        ),
        row(
            bravo,
            "eu-west-1",
            "harden-nodes",
            "would-remediate",
            &s.node,
        ),
    ] {
        assert!(found.contains(&expected), "{expected:?} in {found:#?}");
    }
    // Each finding only where it is: the group in alpha's us-east-1, not its eu-west-1.
    assert_eq!(
        found.iter().filter(|r| r.4 == s.open_group).count(),
        1,
        "{found:#?}"
    );
    // The report says what the functions would fix, and how to undo it.
    let group_row = rows
        .iter()
        .find(|r| r["resource"]["id"] == s.open_group.as_str())
        .unwrap();
    assert_eq!(group_row["function"], "fixes");
    assert!(group_row["fix"]
        .as_str()
        .unwrap()
        .starts_with("undo: aws ec2 authorize-security-group-ingress"));
    let detector_row = rows
        .iter()
        .find(|r| r["rule"] == "restore-audit-trail" && r["resource"]["id"] == "none")
        .unwrap();
    assert_eq!(detector_row["function"], "alerts");

    // Entered through the role, with the external id; the caller's own account as itself.
    let assumed: Vec<String> = proxy
        .requests("/")
        .into_iter()
        .filter(|r| r.body.starts_with("Action=AssumeRole"))
        .map(|r| r.body)
        .collect();
    assert_eq!(assumed.len(), 3, "alpha, bravo, charlie: {assumed:?}");
    assert!(assumed.iter().all(|b| b.contains("ExternalId=xyz")));
    assert!(!assumed.iter().any(|b| b.contains(&s.org.management)));
    // IAM read once per account (ListRoles), not once per region.
    let list_roles = proxy
        .requests("/")
        .into_iter()
        .filter(|r| r.body.starts_with("Action=ListRoles"))
        .count();
    assert_eq!(list_roles, 3, "management, alpha, bravo");
    // Read-only: the group is still open, whatever MODE says.
    let alpha_east = inside(alpha, "us-east-1").await;
    let group = alpha_east
        .ec2()
        .await
        .describe_security_groups()
        .group_ids(&s.open_group)
        .send()
        .await
        .unwrap();
    assert_eq!(group.security_groups()[0].ip_permissions().len(), 1);
    // Without a terminal, progress is plain lines on stderr, one per scan.
    assert!(
        stderr.contains(&format!("scanned {alpha} us-east-1 (")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("scanned {bravo} IAM (")),
        "{stderr}"
    );
    assert!(stderr.contains("not scanned:"), "{stderr}");
}

#[tokio::test]
async fn every_format_reports_the_same_rows_and_concurrency_changes_only_the_order_of_work() {
    let s = seeded("210000000002").await;
    let [alpha, bravo, charlie] = &s.org.members;
    let proxy = proxy(Some(charlie)).await;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique("scan-org"));
    std::fs::create_dir_all(&dir).unwrap();
    let scope = |format: &str| {
        vec![
            "--accounts".to_owned(),
            format!("{alpha},{bravo},{charlie}"),
            "--regions".to_owned(),
            REGIONS.join(","),
            "--format".to_owned(),
            format.to_owned(),
        ]
    };
    let run = |extra: Vec<String>| {
        let proxy = &proxy;
        let keys = &s.org.keys;
        async move {
            let args: Vec<&str> = extra.iter().map(String::as_str).collect();
            scan(proxy, keys, &args).await
        }
    };
    let json = run(scope("json")).await;
    assert_eq!(json.status.code(), Some(2));
    let rows: Vec<Value> = serde_json::from_slice(&json.stdout).unwrap();
    let mut serial = scope("json");
    serial.extend(["--concurrency".to_owned(), "1".to_owned()]);
    let one_at_a_time = run(serial).await;
    let serial_rows: Vec<Value> = serde_json::from_slice(&one_at_a_time.stdout).unwrap();
    assert_eq!(keys_of(&rows), keys_of(&serial_rows));
    assert_eq!(
        serde_json::to_string(&rows).unwrap(),
        serde_json::to_string(&serial_rows).unwrap(),
        "the same rows in the same order"
    );

    // CSV: a record per row, the same keys.
    let csv_file = dir.join("report.csv");
    let mut csv_args = scope("csv");
    csv_args.extend(["--output".to_owned(), csv_file.display().to_string()]);
    let csv_run = run(csv_args).await;
    assert_eq!(csv_run.status.code(), Some(2));
    assert!(csv_run.stdout.is_empty(), "the report went to the file");
    assert!(text(&csv_run.stderr).contains("report written to"));
    let mut reader = csv::Reader::from_path(&csv_file).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        &header[..5],
        ["account", "region", "rule", "status", "function"]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let mut csv_keys: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r[0].to_owned(),
                r[1].to_owned(),
                r[2].to_owned(),
                r[3].to_owned(),
                r[6].to_owned(),
            )
        })
        .collect();
    csv_keys.sort();
    assert_eq!(csv_keys, keys_of(&rows));

    // Table: a line per row naming account and region, then the summary.
    let table = run(scope("table")).await;
    let table_text = text(&table.stdout);
    assert!(table_text.starts_with("ACCOUNT"), "{table_text}");
    assert_eq!(table_text.lines().count(), rows.len() + 2, "{table_text}");
    assert!(table_text.lines().any(|l| l.starts_with(alpha.as_str())
        && l.contains("us-east-1")
        && l.contains(&s.open_group)));
    let findings = rows
        .iter()
        .filter(|r| ["would-remediate", "alert"].contains(&r["status"].as_str().unwrap()))
        .count();
    assert!(
        table_text.contains(&format!(
            "{findings} finding(s) in 3 account(s) and 2 region(s)"
        )),
        "{table_text}"
    );

    // HTML, in a browser.
    let html_file = dir.join("report.html");
    let mut html_args = scope("html");
    html_args.extend(["--output".to_owned(), html_file.display().to_string()]);
    assert_eq!(run(html_args).await.status.code(), Some(2));
    let shot = dir.join("report.png");
    let dom = browse(&html_file, "", Some(&shot)).await;
    assert!(dom.contains("data-ready=\"1\""), "the page's script ran");
    assert!(!dom.contains("data-pwned"), "the payload did not run");
    assert_eq!(
        dom.matches("<script").count(),
        1,
        "only the page's own script"
    );
    assert!(!dom.contains("<img"), "the payload is not an element");
    assert!(dom.contains("&lt;img src=x onerror=document.body.dataset.pwned=1&gt;"));
    assert!(dom.contains("(cluster &lt;script&gt;document.body.dataset.pwned=1&lt;/script&gt;)"));
    assert_eq!(dom.matches("<tr data-status=").count(), rows.len());
    assert!(dom.contains(&format!("data-shown=\"{}\"", rows.len())));
    assert!(dom.contains(&format!("card findings\" data-count=\"{findings}\"")));
    assert!(dom.contains("card error\" data-count=\"1\""), "charlie");
    let rules_with_findings: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter(|r| ["would-remediate", "alert"].contains(&r["status"].as_str().unwrap()))
        .filter_map(|r| r["rule"].as_str())
        .collect();
    assert_eq!(
        dom.matches("<g data-rule=").count(),
        rules_with_findings.len(),
        "a bar per rule with findings"
    );
    for account in [alpha, bravo, charlie] {
        assert!(dom.contains(&format!("<tr data-account=\"{account}\">")));
    }
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{}",
        png.len()
    );

    // Filtered and sorted from the link: only eu-west-1's rows shown, bravo's first.
    let in_west = rows.iter().filter(|r| r["region"] == "eu-west-1").count();
    let dom = browse(&html_file, "#filter=eu-west-1&sort=0&desc=1", None).await;
    assert!(
        dom.contains(&format!("data-shown=\"{in_west}\"")),
        "{in_west}"
    );
    assert_eq!(
        dom.matches("hidden=\"\"").count(),
        rows.len() - in_west,
        "the other rows are hidden"
    );
    // The first row in the document (shown or not) is now the largest account's.
    let first_row = &dom[dom.find("<tr data-status=").unwrap()..];
    let cell = &first_row[first_row.find("<td>").unwrap() + 4..];
    let first_account = &cell[..cell.find("</td>").unwrap()];
    let largest = [alpha, bravo, charlie].into_iter().max().unwrap();
    assert_eq!(
        first_account,
        largest.as_str(),
        "sorted by account, descending"
    );
}

#[tokio::test]
async fn a_clean_account_exits_0_and_one_finding_makes_it_1() {
    let account = "210000000003";
    let keys = support::assumed(account).await;
    let region = "ap-southeast-2";
    let aws = inside(account, region).await;
    watched(&aws).await;
    let proxy = proxy(None).await;
    let clean = scan(&proxy, &keys, &["--region", region]).await;
    let out = text(&clean.stdout);
    assert_eq!(clean.status.code(), Some(0), "{out}{}", text(&clean.stderr));
    assert!(
        out.starts_with("STATUS"),
        "one account and region: the narrow table"
    );
    assert!(out.contains("no violations found"), "{out}");
    open_eks_group(&aws).await;
    let dirty = scan(&proxy, &keys, &["--region", region]).await;
    assert_eq!(dirty.status.code(), Some(1), "{}", text(&dirty.stdout));
    // No role is assumed for the caller's own account, even when listed; with no region
    // configured, the calls before the scan sign for the first region asked for.
    let own = cli(
        &proxy,
        &keys,
        None,
        "eks-remediator",
        &["--accounts", account, "--regions", region],
    )
    .output()
    .await
    .unwrap();
    assert_eq!(own.status.code(), Some(1), "{}", text(&own.stderr));
    let own_table = text(&own.stdout);
    assert!(own_table.starts_with("STATUS") && own_table.contains("revoke-open-ingress"));
    assert!(!proxy
        .requests("/")
        .iter()
        .any(|r| r.body.starts_with("Action=AssumeRole")));

    // On a terminal (util-linux `script` gives it one), progress is a bar, not lines.
    let report = Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique("tty-report.txt"));
    let line = format!(
        "{} scan --region {region} --output {}",
        env!("CARGO_BIN_EXE_eks-remediator"),
        report.display()
    );
    let tty = cli(&proxy, &keys, None, "script", &["-qec", &line, "/dev/null"])
        .env("TERM", "xterm")
        .output()
        .await
        .unwrap();
    let screen = text(&tty.stdout);
    // (indicatif limits how often it redraws: the last counts may not be drawn.)
    assert!(screen.contains("scans  accounts "), "{screen}");
    assert!(screen.contains('\u{2588}'), "bar drawn: {screen}");
    assert!(!screen.contains("scanned "), "{screen}");
    let written = std::fs::read_to_string(&report).unwrap();
    assert!(written.contains("revoke-open-ingress"), "{written}");
}

#[tokio::test]
async fn all_regions_are_the_enabled_ones_and_an_org_without_accounts_is_an_error() {
    let account = "210000000004";
    let keys = support::assumed(account).await;
    let proxy = proxy(None).await;
    // The answer AWS gives without AllRegions: enabled regions only; one still marked
    // not-opted-in is left out as well.
    proxy.inject(Fault {
        path_suffix: "/".into(),
        body_contains: Some("Action=DescribeRegions".into()),
        times: usize::MAX,
        answer: Canned {
            status: 200,
            headers: vec![("Content-Type".into(), "text/xml".into())],
            body: "<DescribeRegionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
                   <requestId>1</requestId><regionInfo>\
                   <item><regionName>sa-east-1</regionName><regionEndpoint>ec2.sa-east-1.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>\
                   <item><regionName>eu-north-1</regionName><regionEndpoint>ec2.eu-north-1.amazonaws.com</regionEndpoint><optInStatus>opted-in</optInStatus></item>\
                   <item><regionName>me-south-1</regionName><regionEndpoint>ec2.me-south-1.amazonaws.com</regionEndpoint><optInStatus>not-opted-in</optInStatus></item>\
                   </regionInfo></DescribeRegionsResponse>"
                .into(),
        },
    });
    let all = scan(&proxy, &keys, &["--regions", "all", "--format", "json"]).await;
    assert_eq!(all.status.code(), Some(1), "{}", text(&all.stderr));
    let rows: Vec<Value> = serde_json::from_slice(&all.stdout).unwrap();
    let regions: std::collections::BTreeSet<&str> =
        rows.iter().filter_map(|r| r["region"].as_str()).collect();
    assert_eq!(
        regions,
        ["eu-north-1", "sa-east-1"].into_iter().collect(),
        "{rows:?}"
    );

    // An account in no organisation: moto lists no account (AWS refuses); either way the
    // scan says so and exits 2 rather than print a clean report.
    let org = scan(&proxy, &keys, &["--org", "--format", "json"]).await;
    assert_eq!(org.status.code(), Some(2));
    let rows: Vec<Value> = serde_json::from_slice(&org.stdout).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["status"], "error");
    assert!(rows[0]["finding"]
        .as_str()
        .unwrap()
        .contains("no active account"));
}

/// The DOM of `file` (plus `fragment`) after its script ran, in headless Chromium; a
/// screenshot to `shot` if given.
async fn browse(file: &Path, fragment: &str, shot: Option<&PathBuf>) -> String {
    let browser = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique("chromium-profile"));
    let mut command = tokio::process::Command::new(&browser);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--window-size=1280,1600",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    if let Some(shot) = shot {
        command.arg(format!("--screenshot={}", shot.display()));
    }
    command
        .arg("--dump-dom")
        .arg(format!("file://{}{fragment}", file.display()));
    let out = command.output().await.unwrap_or_else(|e| {
        panic!("{browser} did not start ({e}): scripts/tools.sh installs Debian's chromium")
    });
    let _ = std::fs::remove_dir_all(&profile);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}
