//! Concurrency and load: many events at once against moto's threaded server, the way Lambda
//! runs many invocations side by side. Two hundred events for two hundred groups, and the
//! same event ten times at once: every unsafe rule is revoked exactly once, no invocation
//! fails, and each change is alerted once.

mod support;

use eks_remediator::outcome::Status;
use eks_remediator::rules::revoke_open_ingress::outcomes;
use futures_util::future::join_all;
use support::{event, World};

const RULE: &str = "revoke-open-ingress";
const SG: &str = "sg-0123456789abcdef0";
const SGR1: &str = "sgr-0aaaaaaaaaaaaaaa1";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_events_for_two_hundred_groups_at_once() {
    let w = World::new().await;
    let mut seeded = Vec::new();
    for _ in 0..200 {
        let sg = w.eks_group().await;
        let open = w.allow(&sg, "tcp", Some((3389, 3389)), "0.0.0.0/0").await;
        let e = event(RULE, "authorize-cli-flat.json", &[(SG, &sg), (SGR1, &open)]);
        seeded.push((sg, e));
    }
    let settings = w.settings();
    let results = join_all(
        seeded
            .iter()
            .map(|(_, e)| outcomes(&w.aws, &settings, e.clone())),
    )
    .await;
    for ((sg, _), result) in seeded.iter().zip(&results) {
        let made = result.as_ref().unwrap_or_else(|e| panic!("{sg}: {e}"));
        let statuses: Vec<Status> = made.iter().map(|o| o.status).collect();
        assert_eq!(statuses, [Status::Remediated], "{sg}");
        assert!(
            w.rule_ids(sg).await.is_empty(),
            "{sg} still has its open rule"
        );
    }
    let mut alerted: Vec<String> = w
        .alerts()
        .await
        .iter()
        .map(|a| a["resource"]["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    alerted.sort();
    let mut groups: Vec<String> = seeded.into_iter().map(|(sg, _)| sg).collect();
    groups.sort();
    assert_eq!(alerted, groups, "one alert per group");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_event_ten_times_at_once_revokes_once_and_alerts_once() {
    let w = World::new().await;
    let sg = w.eks_group().await;
    let open = w.allow(&sg, "tcp", Some((3389, 3389)), "0.0.0.0/0").await;
    let private = w.allow(&sg, "tcp", Some((3389, 3389)), "10.0.0.0/8").await;
    let e = event(RULE, "authorize-cli-flat.json", &[(SG, &sg), (SGR1, &open)]);
    let settings = w.settings();
    let results = join_all((0..10).map(|_| outcomes(&w.aws, &settings, e.clone()))).await;
    let mut remediated = 0;
    for result in &results {
        let made = result.as_ref().unwrap_or_else(|e| panic!("{e}"));
        for o in made {
            match o.status {
                Status::Remediated => remediated += 1,
                // The others found it already revoked, by the time they read or revoked.
                Status::Resolved => {}
                other => panic!("unexpected {other:?}: {o:?}"),
            }
        }
    }
    assert_eq!(remediated, 1, "{results:?}");
    assert_eq!(w.rule_ids(&sg).await, [private]);
    assert_eq!(w.alerts().await.len(), 1, "one alert for the one change");
}
