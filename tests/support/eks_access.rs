//! A stateful stand-in for the EKS APIs moto lacks: access entries, their access policy
//! associations, EKS Pod Identity associations and add-ons.
//! moto implements clusters and node groups but none of these, so a test puts an
//! [`EksAccess`] in front of moto as the proxy's [`Responder`]: it answers only for the
//! clusters the test registered, and every other request goes on to moto.
//!
//! It follows the Amazon EKS API Reference (REST JSON, API version 2017-11-01): the
//! operations' URIs, request and response bodies, pagination with `maxResults` (1 to 100,
//! 100 when absent) and `nextToken`, and restJson1 errors (the type in `x-amzn-ErrorType`, a
//! JSON body with `message` and `clusterName`).
//! Principal and policy ARNs arrive percent-encoded in paths; timestamps go out as epoch
//! seconds, as EKS sends them.
//!
//! It is simpler than EKS on purpose, where no test of ours depends on the difference:
//! - it does not check the cluster's authentication mode (EKS refuses access entries on a
//!   `CONFIG_MAP`-only cluster with `InvalidRequestException`);
//! - it accepts any policy ARN (EKS accepts only those `ListAccessPolicies` lists) and does not
//!   check that IAM principals or roles exist;
//! - it ignores `clientRequestToken` (EKS replays the first answer to a repeated token);
//! - add-ons are only seeded ([`EksAccess::addon`]) and always `ACTIVE`: `CreateAddon`,
//!   `UpdateAddon` and `DeleteAddon` reach moto, which does not know them either;
//! - lists are ordered by principal ARN, policy ARN, association id or add-on name, and a
//!   `nextToken` is the next item's key in hex (EKS's tokens are opaque too).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use percent_encoding::percent_decode_str;
use serde_json::{json, Map, Value};

use super::proxy::{ok_json, Canned, Responder};

/// The model: registered clusters and what each holds. Share it with the proxy through an
/// `Arc` (`proxy.respond_with(model.clone())`) and seed or inspect it from the test.
pub struct EksAccess {
    region: String,
    account: String,
    state: Mutex<BTreeMap<String, Cluster>>,
}

#[derive(Default)]
struct Cluster {
    /// By principal ARN.
    entries: BTreeMap<String, Entry>,
    /// By association id.
    pod_identities: BTreeMap<String, PodIdentity>,
    /// By add-on name.
    addons: BTreeMap<String, Addon>,
}

struct Entry {
    kind: String,
    username: String,
    groups: Vec<String>,
    tags: Map<String, Value>,
    arn: String,
    created_at: f64,
    modified_at: f64,
    /// By policy ARN.
    policies: BTreeMap<String, Association>,
}

struct Association {
    scope_type: String,
    namespaces: Vec<String>,
    associated_at: f64,
    modified_at: f64,
}

struct PodIdentity {
    namespace: String,
    service_account: String,
    role_arn: String,
    target_role_arn: Option<String>,
    policy: Option<String>,
    disable_session_tags: bool,
    tags: Map<String, Value>,
    created_at: f64,
    modified_at: f64,
}

struct Addon {
    version: String,
    arn: String,
    created_at: f64,
}

/// The access entry types EKS knows (`type` of `CreateAccessEntry`).
const ENTRY_TYPES: [&str; 7] = [
    "STANDARD",
    "EC2",
    "EC2_LINUX",
    "EC2_WINDOWS",
    "FARGATE_LINUX",
    "HYBRID_LINUX",
    "HYPERPOD_LINUX",
];

/// The add-on version [`EksAccess::addon`] seeds.
pub const DEFAULT_ADDON_VERSION: &str = "v1.0.0-eksbuild.1";

impl Default for EksAccess {
    fn default() -> Self {
        EksAccess::new()
    }
}

impl EksAccess {
    /// A model in the tests' region and account (`support::REGION`, `support::ACCOUNT`),
    /// which it writes into the ARNs it makes.
    pub fn new() -> EksAccess {
        EksAccess::in_account(super::REGION, super::ACCOUNT)
    }

    /// A model whose ARNs name `region` and `account`.
    pub fn in_account(region: &str, account: &str) -> EksAccess {
        EksAccess {
            region: region.to_owned(),
            account: account.to_owned(),
            state: Mutex::new(BTreeMap::new()),
        }
    }

    fn state(&self) -> MutexGuard<'_, BTreeMap<String, Cluster>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers `cluster`: from now on the model answers its access entry, Pod Identity and
    /// add-on calls (it starts with none of them). Registering twice changes nothing.
    pub fn cluster(&self, cluster: &str) {
        self.state().entry(cluster.to_owned()).or_default();
    }

    /// Seeds an access entry, as `CreateAccessEntry` would make it (registering the cluster if
    /// new, replacing an entry of the same principal): `kind` is its `type` (`STANDARD`,
    /// `EC2_LINUX`, ...); without a `username`, and for node types without `groups`, it gets
    /// EKS's defaults. Unlike the API, it checks nothing, so a test can seed any state.
    pub fn entry(
        &self,
        cluster: &str,
        principal_arn: &str,
        kind: &str,
        username: Option<&str>,
        groups: &[&str],
    ) {
        let now = now();
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        let entry = self.new_entry(
            cluster,
            principal_arn,
            kind,
            username.map(str::to_owned),
            groups,
            Map::new(),
            now,
        );
        self.state()
            .entry(cluster.to_owned())
            .or_default()
            .entries
            .insert(principal_arn.to_owned(), entry);
    }

    /// Seeds an access policy association, as `AssociateAccessPolicy` would (replacing the
    /// scope of the same policy). `scope_type` is `cluster` or `namespace`.
    /// Panics if the access entry was not seeded first.
    pub fn associate(
        &self,
        cluster: &str,
        principal_arn: &str,
        policy_arn: &str,
        scope_type: &str,
        namespaces: &[&str],
    ) {
        let mut state = self.state();
        let entry = state
            .get_mut(cluster)
            .and_then(|c| c.entries.get_mut(principal_arn))
            .unwrap_or_else(|| {
                panic!("seed the access entry of {principal_arn} in {cluster} first")
            });
        associate(
            entry,
            policy_arn,
            scope_type,
            namespaces.iter().map(|n| n.to_string()).collect(),
            now(),
        );
    }

    /// Seeds a Pod Identity association (registering the cluster if new); returns its id.
    pub fn pod_identity(
        &self,
        cluster: &str,
        namespace: &str,
        service_account: &str,
        role_arn: &str,
    ) -> String {
        let now = now();
        let mut state = self.state();
        let c = state.entry(cluster.to_owned()).or_default();
        let id = association_id(&c.pod_identities);
        c.pod_identities.insert(
            id.clone(),
            PodIdentity {
                namespace: namespace.to_owned(),
                service_account: service_account.to_owned(),
                role_arn: role_arn.to_owned(),
                target_role_arn: None,
                policy: None,
                disable_session_tags: false,
                tags: Map::new(),
                created_at: now,
                modified_at: now,
            },
        );
        id
    }

    /// Seeds an `ACTIVE` add-on at [`DEFAULT_ADDON_VERSION`] (registering the cluster if new).
    pub fn addon(&self, cluster: &str, name: &str) {
        self.addon_at(cluster, name, DEFAULT_ADDON_VERSION);
    }

    /// Seeds an `ACTIVE` add-on at `version` (registering the cluster if new).
    pub fn addon_at(&self, cluster: &str, name: &str, version: &str) {
        let arn = format!(
            "arn:aws:eks:{}:{}:addon/{cluster}/{name}/{}",
            self.region,
            self.account,
            uuid()
        );
        self.state()
            .entry(cluster.to_owned())
            .or_default()
            .addons
            .insert(
                name.to_owned(),
                Addon {
                    version: version.to_owned(),
                    arn,
                    created_at: now(),
                },
            );
    }

    /// The policies associated with the access entry of `principal_arn`, by policy ARN:
    /// `(policy ARN, scope type, namespaces)`; empty when there is no such entry.
    pub fn associated(
        &self,
        cluster: &str,
        principal_arn: &str,
    ) -> Vec<(String, String, Vec<String>)> {
        self.state()
            .get(cluster)
            .and_then(|c| c.entries.get(principal_arn))
            .map(|e| {
                e.policies
                    .iter()
                    .map(|(policy, a)| (policy.clone(), a.scope_type.clone(), a.namespaces.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether `cluster` has an access entry for `principal_arn`.
    pub fn has_entry(&self, cluster: &str, principal_arn: &str) -> bool {
        self.state()
            .get(cluster)
            .is_some_and(|c| c.entries.contains_key(principal_arn))
    }

    /// The Pod Identity associations of `cluster`, by id: `(id, namespace, service account,
    /// role ARN)`.
    pub fn pod_identities(&self, cluster: &str) -> Vec<(String, String, String, String)> {
        self.state()
            .get(cluster)
            .map(|c| {
                c.pod_identities
                    .iter()
                    .map(|(id, p)| {
                        (
                            id.clone(),
                            p.namespace.clone(),
                            p.service_account.clone(),
                            p.role_arn.clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// An access entry as EKS makes it: without a username, EKS's default for the type and
    /// principal; a node type without groups gets the groups EKS shows for it.
    #[allow(clippy::too_many_arguments)]
    fn new_entry(
        &self,
        cluster: &str,
        principal_arn: &str,
        kind: &str,
        username: Option<String>,
        groups: Vec<String>,
        tags: Map<String, Value>,
        now: f64,
    ) -> Entry {
        let principal = Principal::parse(principal_arn);
        let username =
            username.unwrap_or_else(|| default_username(kind, principal_arn, &principal));
        let groups = if groups.is_empty() {
            node_groups(kind).iter().map(|g| g.to_string()).collect()
        } else {
            groups
        };
        let (resource, owner, name) = principal
            .as_ref()
            .map(|p| (p.resource.as_str(), p.account.as_str(), p.name.as_str()))
            .unwrap_or(("role", self.account.as_str(), principal_arn));
        Entry {
            kind: kind.to_owned(),
            username,
            groups,
            tags,
            arn: format!(
                "arn:aws:eks:{}:{}:access-entry/{cluster}/{resource}/{owner}/{name}/{}",
                self.region,
                self.account,
                uuid()
            ),
            created_at: now,
            modified_at: now,
            policies: BTreeMap::new(),
        }
    }
}

impl Responder for EksAccess {
    fn answer(&self, method: &str, path: &str, query: &str, body: &str) -> Option<Canned> {
        let segments: Vec<String> = path
            .trim_start_matches('/')
            .trim_end_matches('/')
            .split('/')
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
        let ["clusters", cluster, family @ ("access-entries" | "pod-identity-associations" | "addons"), rest @ ..] =
            parts.as_slice()
        else {
            return None;
        };
        let mut state = self.state();
        let c = state.get_mut(*cluster)?;
        let call = Call {
            model: self,
            cluster,
            query: parse_query(query),
            body,
            now: now(),
        };
        let answer = match (method, *family, rest) {
            ("POST", "access-entries", []) => call.create_access_entry(c),
            ("GET", "access-entries", []) => call.list_access_entries(c),
            ("GET", "access-entries", [principal]) => call.describe_access_entry(c, principal),
            ("POST", "access-entries", [principal]) => call.update_access_entry(c, principal),
            ("DELETE", "access-entries", [principal]) => call.delete_access_entry(c, principal),
            ("POST", "access-entries", [principal, "access-policies"]) => {
                call.associate_access_policy(c, principal)
            }
            ("GET", "access-entries", [principal, "access-policies"]) => {
                call.list_associated_access_policies(c, principal)
            }
            ("DELETE", "access-entries", [principal, "access-policies", policy]) => {
                call.disassociate_access_policy(c, principal, policy)
            }
            ("POST", "pod-identity-associations", []) => call.create_pod_identity(c),
            ("GET", "pod-identity-associations", []) => call.list_pod_identities(c),
            ("GET", "pod-identity-associations", [id]) => call.describe_pod_identity(c, id),
            ("POST", "pod-identity-associations", [id]) => call.update_pod_identity(c, id),
            ("DELETE", "pod-identity-associations", [id]) => call.delete_pod_identity(c, id),
            ("GET", "addons", []) => call.list_addons(c),
            ("GET", "addons", [name]) => call.describe_addon(c, name),
            _ => return None,
        };
        Some(answer.map_or_else(|error| error, ok_json))
    }
}

/// One request to a registered cluster.
struct Call<'a> {
    model: &'a EksAccess,
    cluster: &'a str,
    query: Vec<(String, String)>,
    body: &'a str,
    now: f64,
}

/// A success body, or the error answer.
type Answer = Result<Value, Canned>;

impl Call<'_> {
    fn create_access_entry(&self, c: &mut Cluster) -> Answer {
        let body = self.body()?;
        let principal_arn = self.required(&body, "principalArn")?;
        let kind = optional_string(&body, "type")?.unwrap_or_else(|| "STANDARD".to_owned());
        let username = optional_string(&body, "username")?;
        let groups = strings(&body, "kubernetesGroups")?;
        let tags = tags(&body)?;
        if !ENTRY_TYPES.contains(&kind.as_str()) {
            return Err(self.invalid(&format!(
                "The access entry type {kind} is not valid; valid types are {}.",
                ENTRY_TYPES.join(", ")
            )));
        }
        let Some(principal) = Principal::parse(&principal_arn) else {
            return Err(self.invalid(&format!(
                "The principalArn {principal_arn} is not a valid IAM user or role ARN."
            )));
        };
        if kind != "STANDARD" {
            if principal.resource != "role" {
                return Err(self.invalid(&format!(
                    "Access entries of type {kind} accept only IAM role principals."
                )));
            }
            if username.is_some() || !groups.is_empty() {
                return Err(self.invalid(&format!(
                    "The username and kubernetesGroups cannot be specified for access entries of type {kind}."
                )));
            }
        }
        if c.entries.contains_key(&principal_arn) {
            return Err(self
                .in_use("The specified access entry resource is already in use on this cluster."));
        }
        let entry = self.model.new_entry(
            self.cluster,
            &principal_arn,
            &kind,
            username,
            groups,
            tags,
            self.now,
        );
        let out = json!({"accessEntry": self.entry_json(&principal_arn, &entry)});
        c.entries.insert(principal_arn, entry);
        Ok(out)
    }

    fn list_access_entries(&self, c: &Cluster) -> Answer {
        let policy = self.param("associatedPolicyArn");
        let items = c
            .entries
            .iter()
            .filter(|(_, e)| policy.is_none_or(|p| e.policies.contains_key(p)))
            .map(|(arn, _)| (arn.clone(), json!(arn)))
            .collect();
        let (page, next) = self.page(items)?;
        Ok(with_token(json!({"accessEntries": page}), next))
    }

    fn describe_access_entry(&self, c: &Cluster, principal_arn: &str) -> Answer {
        let entry = self.entry(c, principal_arn)?;
        Ok(json!({"accessEntry": self.entry_json(principal_arn, entry)}))
    }

    fn update_access_entry(&self, c: &mut Cluster, principal_arn: &str) -> Answer {
        let body = self.body()?;
        let username = optional_string(&body, "username")?;
        let groups = body
            .contains_key("kubernetesGroups")
            .then(|| strings(&body, "kubernetesGroups"))
            .transpose()?;
        let entry = self.entry_mut(c, principal_arn)?;
        if entry.kind != "STANDARD" && (username.is_some() || groups.is_some()) {
            return Err(self.invalid(&format!(
                "The username and kubernetesGroups cannot be specified for access entries of type {}.",
                entry.kind
            )));
        }
        if let Some(username) = username {
            entry.username = username;
        }
        if let Some(groups) = groups {
            entry.groups = groups;
        }
        entry.modified_at = self.now;
        Ok(json!({"accessEntry": self.entry_json(principal_arn, entry)}))
    }

    fn delete_access_entry(&self, c: &mut Cluster, principal_arn: &str) -> Answer {
        // Its policy associations go with it, as in EKS.
        match c.entries.remove(principal_arn) {
            Some(_) => Ok(json!({})),
            None => Err(self.entry_not_found()),
        }
    }

    fn associate_access_policy(&self, c: &mut Cluster, principal_arn: &str) -> Answer {
        let body = self.body()?;
        let policy_arn = self.required(&body, "policyArn")?;
        let scope = match body.get("accessScope") {
            Some(Value::Object(scope)) => scope.clone(),
            _ => return Err(self.invalid("accessScope is required and must be an object.")),
        };
        let scope_type = self.required(&scope, "type")?;
        let namespaces = strings(&scope, "namespaces")?;
        match (scope_type.as_str(), namespaces.is_empty()) {
            ("cluster", true) | ("namespace", false) => {}
            ("cluster", false) => {
                return Err(self.invalid("Namespaces cannot be specified for a cluster scope."))
            }
            ("namespace", true) => {
                return Err(self.invalid("A namespace scope needs at least one namespace."))
            }
            (other, _) => {
                return Err(self.invalid(&format!(
                "The access scope type {other} is not valid; valid types are cluster, namespace."
            )))
            }
        }
        let now = self.now;
        let entry = self.entry_mut(c, principal_arn)?;
        associate(entry, &policy_arn, &scope_type, namespaces, now);
        let association = &entry.policies[&policy_arn];
        Ok(json!({
            "clusterName": self.cluster,
            "principalArn": principal_arn,
            "associatedAccessPolicy": association_json(&policy_arn, association),
        }))
    }

    fn list_associated_access_policies(&self, c: &Cluster, principal_arn: &str) -> Answer {
        let entry = self.entry(c, principal_arn)?;
        let items = entry
            .policies
            .iter()
            .map(|(policy, a)| (policy.clone(), association_json(policy, a)))
            .collect();
        let (page, next) = self.page(items)?;
        Ok(with_token(
            json!({
                "clusterName": self.cluster,
                "principalArn": principal_arn,
                "associatedAccessPolicies": page,
            }),
            next,
        ))
    }

    fn disassociate_access_policy(
        &self,
        c: &mut Cluster,
        principal_arn: &str,
        policy_arn: &str,
    ) -> Answer {
        let entry = self.entry_mut(c, principal_arn)?;
        match entry.policies.remove(policy_arn) {
            Some(_) => Ok(json!({})),
            None => Err(self.not_found(
                &format!("The access policy {policy_arn} is not associated with the access entry {principal_arn}."),
                None,
            )),
        }
    }

    fn create_pod_identity(&self, c: &mut Cluster) -> Answer {
        let body = self.body()?;
        let namespace = self.required(&body, "namespace")?;
        let service_account = self.required(&body, "serviceAccount")?;
        let role_arn = self.required(&body, "roleArn")?;
        let target_role_arn = optional_string(&body, "targetRoleArn")?;
        let policy = optional_string(&body, "policy")?;
        let disable_session_tags = optional_bool(&body, "disableSessionTags")?;
        let tags = tags(&body)?;
        if let Some((id, _)) = c
            .pod_identities
            .iter()
            .find(|(_, p)| p.namespace == namespace && p.service_account == service_account)
        {
            return Err(self.in_use(&format!("Association already exists: {id}")));
        }
        let id = association_id(&c.pod_identities);
        let association = PodIdentity {
            namespace,
            service_account,
            role_arn,
            target_role_arn,
            policy,
            disable_session_tags: disable_session_tags.unwrap_or(false),
            tags,
            created_at: self.now,
            modified_at: self.now,
        };
        let out = json!({"association": self.pod_identity_json(&id, &association)});
        c.pod_identities.insert(id, association);
        Ok(out)
    }

    fn list_pod_identities(&self, c: &Cluster) -> Answer {
        let namespace = self.param("namespace");
        let service_account = self.param("serviceAccount");
        let items = c
            .pod_identities
            .iter()
            .filter(|(_, p)| namespace.is_none_or(|n| p.namespace == n))
            .filter(|(_, p)| service_account.is_none_or(|s| p.service_account == s))
            .map(|(id, p)| {
                let summary = json!({
                    "clusterName": self.cluster,
                    "namespace": p.namespace,
                    "serviceAccount": p.service_account,
                    "associationArn": self.pod_identity_arn(id),
                    "associationId": id,
                });
                (id.clone(), summary)
            })
            .collect();
        let (page, next) = self.page(items)?;
        Ok(with_token(json!({"associations": page}), next))
    }

    fn describe_pod_identity(&self, c: &Cluster, id: &str) -> Answer {
        let association = c
            .pod_identities
            .get(id)
            .ok_or_else(|| self.pod_identity_not_found(id))?;
        Ok(json!({"association": self.pod_identity_json(id, association)}))
    }

    fn update_pod_identity(&self, c: &mut Cluster, id: &str) -> Answer {
        let body = self.body()?;
        let role_arn = optional_string(&body, "roleArn")?;
        let target_role_arn = optional_string(&body, "targetRoleArn")?;
        let policy = optional_string(&body, "policy")?;
        let disable_session_tags = optional_bool(&body, "disableSessionTags")?;
        let association = c
            .pod_identities
            .get_mut(id)
            .ok_or_else(|| self.pod_identity_not_found(id))?;
        if let Some(role_arn) = role_arn {
            association.role_arn = role_arn;
        }
        if let Some(target) = target_role_arn {
            // EKS clears the target role when it is sent empty.
            association.target_role_arn = (!target.is_empty()).then_some(target);
        }
        if let Some(policy) = policy {
            association.policy = (!policy.is_empty()).then_some(policy);
        }
        if let Some(disable) = disable_session_tags {
            association.disable_session_tags = disable;
        }
        association.modified_at = self.now;
        Ok(json!({"association": self.pod_identity_json(id, association)}))
    }

    fn delete_pod_identity(&self, c: &mut Cluster, id: &str) -> Answer {
        let association = c
            .pod_identities
            .remove(id)
            .ok_or_else(|| self.pod_identity_not_found(id))?;
        Ok(json!({"association": self.pod_identity_json(id, &association)}))
    }

    fn list_addons(&self, c: &Cluster) -> Answer {
        let items = c
            .addons
            .keys()
            .map(|name| (name.clone(), json!(name)))
            .collect();
        let (page, next) = self.page(items)?;
        Ok(with_token(json!({"addons": page}), next))
    }

    fn describe_addon(&self, c: &Cluster, name: &str) -> Answer {
        let addon = c.addons.get(name).ok_or_else(|| {
            self.not_found(
                &format!("No addon: {name} found in cluster: {}", self.cluster),
                Some(("addonName", name)),
            )
        })?;
        Ok(json!({"addon": {
            "addonName": name,
            "clusterName": self.cluster,
            "status": "ACTIVE",
            "addonVersion": addon.version,
            "health": {"issues": []},
            "addonArn": addon.arn,
            "createdAt": addon.created_at,
            "modifiedAt": addon.created_at,
            "tags": {},
            "podIdentityAssociations": [],
        }}))
    }

    // Shapes.

    fn entry_json(&self, principal_arn: &str, e: &Entry) -> Value {
        json!({
            "clusterName": self.cluster,
            "principalArn": principal_arn,
            "kubernetesGroups": e.groups,
            "accessEntryArn": e.arn,
            "createdAt": e.created_at,
            "modifiedAt": e.modified_at,
            "tags": e.tags,
            "username": e.username,
            "type": e.kind,
        })
    }

    fn pod_identity_arn(&self, id: &str) -> String {
        format!(
            "arn:aws:eks:{}:{}:podidentityassociation/{}/{id}",
            self.model.region, self.model.account, self.cluster
        )
    }

    fn pod_identity_json(&self, id: &str, p: &PodIdentity) -> Value {
        let mut out = json!({
            "clusterName": self.cluster,
            "namespace": p.namespace,
            "serviceAccount": p.service_account,
            "roleArn": p.role_arn,
            "associationArn": self.pod_identity_arn(id),
            "associationId": id,
            "tags": p.tags,
            "createdAt": p.created_at,
            "modifiedAt": p.modified_at,
            "disableSessionTags": p.disable_session_tags,
        });
        if let Some(target) = &p.target_role_arn {
            out["targetRoleArn"] = json!(target);
        }
        if let Some(policy) = &p.policy {
            out["policy"] = json!(policy);
        }
        out
    }

    // Lookups.

    fn entry<'c>(&self, c: &'c Cluster, principal_arn: &str) -> Result<&'c Entry, Canned> {
        c.entries
            .get(principal_arn)
            .ok_or_else(|| self.entry_not_found())
    }

    fn entry_mut<'c>(
        &self,
        c: &'c mut Cluster,
        principal_arn: &str,
    ) -> Result<&'c mut Entry, Canned> {
        c.entries
            .get_mut(principal_arn)
            .ok_or_else(|| self.entry_not_found())
    }

    // Request parts.

    fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The JSON object body; an empty body is an empty object.
    fn body(&self) -> Result<Map<String, Value>, Canned> {
        if self.body.trim().is_empty() {
            return Ok(Map::new());
        }
        match serde_json::from_str(self.body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(self.invalid("The request body is not a JSON object.")),
        }
    }

    fn required(&self, body: &Map<String, Value>, key: &str) -> Result<String, Canned> {
        match body.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(self.invalid(&format!(
                "{key} is required and must be a non-empty string."
            ))),
        }
    }

    /// Items `(key, value)` in key order: the page `maxResults` and `nextToken` ask for, and
    /// the token of the next page.
    fn page(
        &self,
        mut items: Vec<(String, Value)>,
    ) -> Result<(Vec<Value>, Option<String>), Canned> {
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let max = match self.param("maxResults") {
            None => 100,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| self.invalid("maxResults must be between 1 and 100."))?,
        };
        let start = match self.param("nextToken") {
            None => None,
            Some(token) => {
                Some(unhex(token).ok_or_else(|| self.invalid("The nextToken is not valid."))?)
            }
        };
        let mut rest = items
            .into_iter()
            .filter(|(k, _)| start.as_ref().is_none_or(|s| k >= s))
            .peekable();
        let page = rest.by_ref().take(max).map(|(_, v)| v).collect();
        let next = rest.peek().map(|(k, _)| hex(k));
        Ok((page, next))
    }

    // Errors (restJson1: the type in `x-amzn-ErrorType`, the fields in the body).

    fn error(&self, status: u16, kind: &str, message: &str, extra: Option<(&str, &str)>) -> Canned {
        let mut body = json!({"message": message, "clusterName": self.cluster});
        if let Some((k, v)) = extra {
            body[k] = json!(v);
        }
        Canned {
            status,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("x-amzn-ErrorType".into(), kind.into()),
                ("x-amzn-RequestId".into(), uuid()),
            ],
            body: body.to_string(),
        }
    }

    fn not_found(&self, message: &str, extra: Option<(&str, &str)>) -> Canned {
        self.error(404, "ResourceNotFoundException", message, extra)
    }

    fn entry_not_found(&self) -> Canned {
        self.not_found(
            "The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.",
            None,
        )
    }

    fn pod_identity_not_found(&self, id: &str) -> Canned {
        self.not_found(
            &format!("No Pod Identity Association found for id: {id}"),
            None,
        )
    }

    fn in_use(&self, message: &str) -> Canned {
        self.error(409, "ResourceInUseException", message, None)
    }

    fn invalid(&self, message: &str) -> Canned {
        self.error(400, "InvalidParameterException", message, None)
    }
}

/// Associates `policy_arn` with `entry`, replacing the scope of an earlier association.
fn associate(
    entry: &mut Entry,
    policy_arn: &str,
    scope_type: &str,
    namespaces: Vec<String>,
    now: f64,
) {
    let associated_at = entry
        .policies
        .get(policy_arn)
        .map_or(now, |a| a.associated_at);
    entry.policies.insert(
        policy_arn.to_owned(),
        Association {
            scope_type: scope_type.to_owned(),
            namespaces,
            associated_at,
            modified_at: now,
        },
    );
    entry.modified_at = now;
}

fn association_json(policy_arn: &str, a: &Association) -> Value {
    json!({
        "policyArn": policy_arn,
        "accessScope": {"type": a.scope_type, "namespaces": a.namespaces},
        "associatedAt": a.associated_at,
        "modifiedAt": a.modified_at,
    })
}

fn with_token(mut out: Value, next: Option<String>) -> Value {
    if let Some(token) = next {
        out["nextToken"] = json!(token);
    }
    out
}

/// An IAM user or role ARN's parts: `arn:<partition>:iam::<account>:<role|user>/<path/><name>`.
struct Principal {
    partition: String,
    account: String,
    resource: String,
    name: String,
}

impl Principal {
    fn parse(arn: &str) -> Option<Principal> {
        let ["arn", partition, "iam", "", account, resource] =
            arn.splitn(6, ':').collect::<Vec<_>>()[..]
        else {
            return None;
        };
        let (kind, rest) = resource.split_once('/')?;
        let name = rest.rsplit('/').next().filter(|n| !n.is_empty())?;
        let valid_account = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        (valid_account && matches!(kind, "role" | "user")).then(|| Principal {
            partition: partition.to_owned(),
            account: account.to_owned(),
            resource: kind.to_owned(),
            name: name.to_owned(),
        })
    }
}

/// The username EKS gives an access entry created without one (EKS User Guide, "Creating
/// access entries"): a role's assumed-role session, a user's own ARN, a node's node name.
fn default_username(kind: &str, principal_arn: &str, principal: &Option<Principal>) -> String {
    match (kind, principal) {
        ("EC2" | "EC2_LINUX" | "EC2_WINDOWS", _) => "system:node:{{EC2PrivateDNSName}}".to_owned(),
        ("FARGATE_LINUX" | "HYBRID_LINUX" | "HYPERPOD_LINUX", _) => {
            "system:node:{{SessionName}}".to_owned()
        }
        (_, Some(p)) if p.resource == "role" => format!(
            "arn:{}:sts::{}:assumed-role/{}/{{{{SessionName}}}}",
            p.partition, p.account, p.name
        ),
        _ => principal_arn.to_owned(),
    }
}

/// The Kubernetes groups EKS shows on a node type's access entry.
fn node_groups(kind: &str) -> &'static [&'static str] {
    match kind {
        "EC2_LINUX" | "FARGATE_LINUX" | "HYBRID_LINUX" | "HYPERPOD_LINUX" => &["system:nodes"],
        "EC2_WINDOWS" => &["system:nodes", "eks:kube-proxy-windows"],
        _ => &[],
    }
}

fn optional_string(body: &Map<String, Value>, key: &str) -> Result<Option<String>, Canned> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad_field(key, "a string")),
    }
}

fn optional_bool(body: &Map<String, Value>, key: &str) -> Result<Option<bool>, Canned> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad_field(key, "a boolean")),
    }
}

fn strings(body: &Map<String, Value>, key: &str) -> Result<Vec<String>, Canned> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad_field(key, "a list of strings"))
            })
            .collect(),
        Some(_) => Err(bad_field(key, "a list of strings")),
    }
}

fn tags(body: &Map<String, Value>) -> Result<Map<String, Value>, Canned> {
    match body.get("tags") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(tags)) if tags.values().all(Value::is_string) => Ok(tags.clone()),
        Some(_) => Err(bad_field("tags", "a map of strings")),
    }
}

/// A field of the wrong JSON type: `InvalidParameterException`, without a cluster name (the
/// body parsers do not know it; EKS's own parser does not say it either).
fn bad_field(key: &str, what: &str) -> Canned {
    Canned {
        status: 400,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            (
                "x-amzn-ErrorType".into(),
                "InvalidParameterException".into(),
            ),
            ("x-amzn-RequestId".into(), uuid()),
        ],
        body: json!({"message": format!("{key} must be {what}.")}).to_string(),
    }
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            (decode(k), decode(v))
        })
        .collect()
}

/// Seconds since the epoch with milliseconds, as EKS's timestamps.
fn now() -> f64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    since.as_millis() as f64 / 1000.0
}

/// Distinct pseudo-random numbers within the test process (splitmix64 over a counter), for
/// ids that look like EKS's without a random-number crate.
fn next_random() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0x5eed);
    let mut z = NEXT
        .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn uuid() -> String {
    let (a, b) = (next_random(), next_random());
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// A Pod Identity association id as EKS makes them: `a-` and 17 lowercase letters and digits.
fn association_id(taken: &BTreeMap<String, PodIdentity>) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    loop {
        let mut n = (u128::from(next_random()) << 64) | u128::from(next_random());
        let mut id = String::from("a-");
        for _ in 0..17 {
            id.push(char::from(ALPHABET[(n % 36) as usize]));
            n /= 36;
        }
        if !taken.contains_key(&id) {
            return id;
        }
    }
}

fn hex(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(token: &str) -> Option<String> {
    if token.len() % 2 != 0 {
        return None;
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}
