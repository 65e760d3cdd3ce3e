#!/usr/bin/env python3
"""A stand-in for the EKS APIs and cluster fields moto lacks, as an HTTP proxy in front of
moto's server.

moto implements EKS clusters and node groups but not access entries, access policy
associations, Pod Identity associations or add-ons, which `guard-cluster-access` (and the
CLI's `scan`) read and change, nor the cluster fields `deletionProtection` and
`upgradePolicy.supportType`, which `enforce-cluster-config` judges. This proxy answers those
operations itself, with state of its own, adds those fields to moto's cluster answers, and
forwards every other request (EKS clusters, SNS, IAM, SQS, ...) to moto unchanged: method,
path, query, headers and body, and moto's status, headers and body back (only the body of a
cluster answer gains the two fields, below). scripts/e2e.py runs it between the function
binaries and moto (their `AWS_ENDPOINT_URL` is this proxy) and seeds it through its own API,
e.g. boto3's `eks.create_access_entry(...)`, `eks.associate_access_policy(...)` or
`eks.create_cluster(..., deletionProtection=True)` with this proxy's URL as `endpoint_url`:
there is no other seeding interface.

Its Rust twin is tests/support/eks_access.rs (the `Responder` the integration tests put in
the test proxy, tests/support/proxy.rs): the same operations, paths, fields, errors and
pagination, both following the Amazon EKS API Reference (REST JSON, API version
2017-11-01). It answers:

    CreateAccessEntry             POST   /clusters/{name}/access-entries
    ListAccessEntries             GET    /clusters/{name}/access-entries (associatedPolicyArn)
    DescribeAccessEntry           GET    /clusters/{name}/access-entries/{principalArn}
    UpdateAccessEntry             POST   /clusters/{name}/access-entries/{principalArn}
    DeleteAccessEntry             DELETE /clusters/{name}/access-entries/{principalArn}
    AssociateAccessPolicy         POST   /clusters/{name}/access-entries/{principalArn}/access-policies
    ListAssociatedAccessPolicies  GET    /clusters/{name}/access-entries/{principalArn}/access-policies
    DisassociateAccessPolicy      DELETE /clusters/{name}/access-entries/{principalArn}/access-policies/{policyArn}
    CreatePodIdentityAssociation  POST   /clusters/{name}/pod-identity-associations
    ListPodIdentityAssociations   GET    /clusters/{name}/pod-identity-associations (namespace, serviceAccount)
    DescribePodIdentityAssociation GET   /clusters/{name}/pod-identity-associations/{associationId}
    UpdatePodIdentityAssociation  POST   /clusters/{name}/pod-identity-associations/{associationId}
    DeletePodIdentityAssociation  DELETE /clusters/{name}/pod-identity-associations/{associationId}
    ListAddons                    GET    /clusters/{name}/addons
    DescribeAddon                 GET    /clusters/{name}/addons/{addonName}

Path parameters arrive percent-encoded (principal and policy ARNs); lists take `maxResults`
(1 to 100, 100 when absent) and `nextToken`; timestamps go out as epoch seconds; errors are
restJson1: the type in `x-amzn-ErrorType` (404 ResourceNotFoundException, 409
ResourceInUseException, 400 InvalidParameterException), a JSON body with `message` and
`clusterName`, `Content-Type: application/json`.

Which clusters: it answers for a cluster only if moto knows it. The first call about a
cluster sends moto `GET /clusters/{name}` (DescribeCluster, with the caller's headers, so moto
picks the same account); a cluster moto does not know gets EKS's 404
ResourceNotFoundException ("No cluster found for name: ..."), and is asked again next time.
A cluster moto knows is remembered (its region and account, from its ARN, go into the ARNs
this proxy makes) until a `DELETE /clusters/{name}` (DeleteCluster) through this proxy
succeeds, which also drops its access entries, associations and add-ons.

Where it differs from the Rust twin (tests/support/eks_access.rs):
- the twin answers only for clusters a test registered and forwards the rest to moto; this
  one asks moto (above), and answers EKS's 404 for a cluster moto does not know;
- there is no seeding backdoor: state is made through the API only, so add-ons, which the
  twin can seed (moto has no CreateAddon), are always an empty list here;
- the state is keyed by cluster name alone (one moto account per run, as scripts/e2e.py
  uses): two moto accounts with clusters of the same name would share it.
Like the twin, and unlike EKS: it does not check the cluster's authentication mode, accepts
any policy ARN, checks no IAM principal or role exists, ignores `clientRequestToken`, orders
lists by key (principal ARN, policy ARN, association id, add-on name) and makes a
`nextToken` of the next key in hex; CreateCluster's bootstrap admin entry is not made.

Cluster fields. moto 5.2 ignores `deletionProtection` (2025) and `upgradePolicy` in
CreateCluster and UpdateClusterConfig, leaves them out of DescribeCluster, and answers an
UpdateClusterConfig that carries only them with `{"cluster": ...}` and no `update` object. Its
Rust twin for these is tests/support/cluster_extras.rs (a `Responder` and a `Rewriter` on the
test proxy). Like it, this proxy keeps both fields for each cluster created through it:

    CreateCluster        POST   /clusters                       forwarded; fields recorded, added
    DescribeCluster      GET    /clusters/{name}                forwarded; fields added
    UpdateClusterConfig  POST   /clusters/{name}/update-config  answered when it carries them
    DeleteCluster        DELETE /clusters/{name}                refused while protected

- CreateCluster: when moto created the cluster (200), the fields are recorded from the request,
  with EKS's defaults when absent (`deletionProtection` false, `supportType` `EXTENDED`), and
  added to moto's answer; DescribeCluster of such a cluster gets them added to moto's answer, as
  `cluster.deletionProtection` (a boolean) and `cluster.upgradePolicy.supportType`;
- UpdateClusterConfig carrying `deletionProtection` or `upgradePolicy` is answered here, with an
  `update` object as EKS returns one: a new `id`, status `InProgress`, type
  `DeletionProtectionUpdate` (param `DeletionProtection`, `"true"` or `"false"`) or
  `UpgradePolicyUpdate` (param `UpgradePolicy`, the support type), `createdAt`, no `errors`.
  One that also carries another kind of update (`logging`, `resourcesVpcConfig`, ...) gets 400
  InvalidParameterException, as EKS takes one kind per call; a value of the wrong type (not a
  boolean; not `STANDARD` or `EXTENDED`) too. Any other update goes on to moto;
- DeleteCluster of a protected cluster gets 400 InvalidRequestException, as EKS refuses it
  while protection is on; a cluster moto deleted is forgotten.
Updates apply at once (EKS's take a moment, the cluster `UPDATING` meanwhile); an upgrade-policy
param's value text is not documented, the support type is assumed; the messages are ours, the
error types and status codes EKS's.

A cluster this proxy did not see created (made straight in moto, as scripts/e2e.py's quiet
clusters and the sweep's are) is reported as moto reports it, without the fields, as an older
EKS answer would be, and its updates go to moto: a function does not judge it on deletion
protection, and what those scenarios check stays as it was. Where it differs from the twin:
- there is no registration backdoor (the twin's `ClusterExtras::cluster`): only clusters created
  through this proxy have the fields;
- update ids are random UUIDs (the twin's count up);
- the fields are keyed by cluster name alone, as the access state is (above).

Forwarding speaks HTTP/1.1 with keep-alive to the client (a `Connection: close` request is
answered and the connection closed) and one connection per request to moto; hop-by-hop
headers (Connection, Keep-Alive, Transfer-Encoding, Expect, ...) are not passed on, and a
chunked body in either direction is passed on whole, with a `Content-Length`.

Usage (Python standard library only):
    python scripts/eks_access_standin.py --upstream http://127.0.0.1:<moto port> [--port N]
It prints `eks-access-standin: listening on http://127.0.0.1:<port> ...` once it accepts
connections, then one line per request (answered here, `stand-in`; or forwarded and moto's
status, `moto`, or `moto+` when the cluster fields were added to moto's answer).
"""

import argparse
import http.client
import http.server
import json
import re
import secrets
import signal
import sys
import threading
import time
import urllib.parse
import uuid

# The access entry types EKS knows (`type` of CreateAccessEntry).
ENTRY_TYPES = ("STANDARD", "EC2", "EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "HYBRID_LINUX",
               "HYPERPOD_LINUX")
FAMILIES = ("access-entries", "pod-identity-associations", "addons")
# Not passed on in either direction (RFC 9110 7.6.1, and Expect: the body is already read).
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade", "expect"}
UPSTREAM_TIMEOUT = 60
IDLE_TIMEOUT = 120
# The UpdateClusterConfig fields that each make an update of their own; EKS takes one kind of
# update per call (the twin's list, tests/support/cluster_extras.rs).
UPDATE_KINDS = ("resourcesVpcConfig", "logging", "accessConfig", "upgradePolicy",
                "zonalShiftConfig", "computeConfig", "kubernetesNetworkConfig", "storageConfig",
                "remoteNetworkConfig", "deletionProtection", "controlPlaneScalingConfig")
# What EKS gives a cluster created without the fields.
DEFAULT_DELETION_PROTECTION = False
DEFAULT_SUPPORT_TYPE = "EXTENDED"


def log(msg):
    print(f"eks-access-standin: {msg}", file=sys.stderr, flush=True)


def now():
    """Seconds since the epoch with milliseconds, as EKS's timestamps."""
    return round(time.time() * 1000) / 1000


def request_id():
    return str(uuid.uuid4())


def hex_token(key):
    return key.encode("utf-8").hex()


def unhex_token(token):
    try:
        return bytes.fromhex(token).decode("utf-8") if len(token) % 2 == 0 else None
    except ValueError:  # also UnicodeDecodeError
        return None


# --------------------------------------------------------------------------- answers

class Answer(Exception):
    """An answer this proxy gives itself; raised for errors, returned for successes."""

    def __init__(self, status, body, headers=()):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = list(headers)

    def encode(self):
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


def ok(body):
    return Answer(200, body, [("Content-Type", "application/json")])


def error(status, kind, message, cluster=None, extra=None):
    body = {"message": message}
    if cluster is not None:
        body["clusterName"] = cluster
    if extra:
        body.update(extra)
    return Answer(status, body, [("Content-Type", "application/json"),
                                 ("x-amzn-ErrorType", kind), ("x-amzn-RequestId", request_id())])


def bad_field(key, what):
    """A field of the wrong JSON type: InvalidParameterException without a cluster name."""
    return error(400, "InvalidParameterException", f"{key} must be {what}.")


def optional_string(body, key):
    value = body.get(key)
    if value is None or isinstance(value, str):
        return value
    raise bad_field(key, "a string")


def optional_bool(body, key):
    value = body.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise bad_field(key, "a boolean")


def strings(body, key):
    value = body.get(key)
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise bad_field(key, "a list of strings")


def tags(body):
    value = body.get("tags")
    if value is None:
        return {}
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return dict(value)
    raise bad_field("tags", "a map of strings")


# --------------------------------------------------------------------------- principals

def parse_principal(arn):
    """An IAM user or role ARN's parts `arn:<partition>:iam::<account>:<role|user>/<path/><name>`
    as (partition, account, resource, name), or None."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or parts[3] != "":
        return None
    partition, account, resource = parts[1], parts[4], parts[5]
    kind, slash, rest = resource.partition("/")
    name = rest.rsplit("/", 1)[-1]
    if not slash or not name or kind not in ("role", "user"):
        return None
    if not (len(account) == 12 and account.isascii() and account.isdigit()):
        return None
    return partition, account, kind, name


def default_username(kind, principal_arn, principal):
    """The username EKS gives an access entry created without one (EKS User Guide, "Creating
    access entries"): a role's assumed-role session, a user's own ARN, a node's node name."""
    if kind in ("EC2", "EC2_LINUX", "EC2_WINDOWS"):
        return "system:node:{{EC2PrivateDNSName}}"
    if kind in ("FARGATE_LINUX", "HYBRID_LINUX", "HYPERPOD_LINUX"):
        return "system:node:{{SessionName}}"
    if principal and principal[2] == "role":
        partition, account, _, name = principal
        return f"arn:{partition}:sts::{account}:assumed-role/{name}/{{{{SessionName}}}}"
    return principal_arn


def node_groups(kind):
    """The Kubernetes groups EKS shows on a node type's access entry."""
    if kind in ("EC2_LINUX", "FARGATE_LINUX", "HYBRID_LINUX", "HYPERPOD_LINUX"):
        return ["system:nodes"]
    if kind == "EC2_WINDOWS":
        return ["system:nodes", "eks:kube-proxy-windows"]
    return []


def association_id(taken):
    """A Pod Identity association id as EKS makes them: `a-` and 17 lowercase letters and digits."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    while True:
        candidate = "a-" + "".join(secrets.choice(alphabet) for _ in range(17))
        if candidate not in taken:
            return candidate


# --------------------------------------------------------------------------- the model

class Cluster:
    def __init__(self, region, account):
        self.region = region
        self.account = account
        self.entries = {}         # principal ARN -> entry dict (with "policies": {policy ARN: ...})
        self.pod_identities = {}  # association id -> dict
        self.addons = {}          # add-on name -> dict (never filled: see the module docstring)


class Call:
    """One request to a known cluster, under the model's lock."""

    def __init__(self, name, cluster, query, body):
        self.name = name
        self.c = cluster
        self.query = query
        self.raw_body = body
        self.now = now()

    # Request parts.

    def param(self, key):
        for k, v in self.query:
            if k == key:
                return v
        return None

    def body(self):
        """The JSON object body; an empty body is an empty object."""
        text = self.raw_body.decode("utf-8", "replace")
        if not text.strip():
            return {}
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise self.invalid("The request body is not a JSON object.")
        return value

    def required(self, body, key):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
        raise self.invalid(f"{key} is required and must be a non-empty string.")

    def page(self, items):
        """Items (key, value) in key order: the page maxResults and nextToken ask for, and the
        token of the next page (or None)."""
        items = sorted(items, key=lambda kv: kv[0])
        raw = self.param("maxResults")
        if raw is None:
            size = 100
        elif re.fullmatch(r"\+?[0-9]+", raw) and 1 <= int(raw) <= 100:
            size = int(raw)
        else:
            raise self.invalid("maxResults must be between 1 and 100.")
        token = self.param("nextToken")
        start = None
        if token is not None:
            start = unhex_token(token)
            if start is None:
                raise self.invalid("The nextToken is not valid.")
        rest = [(k, v) for k, v in items if start is None or k >= start]
        page = [v for _, v in rest[:size]]
        nxt = hex_token(rest[size][0]) if len(rest) > size else None
        return page, nxt

    # Errors.

    def not_found(self, message, extra=None):
        return error(404, "ResourceNotFoundException", message, self.name, extra)

    def entry_not_found(self):
        return self.not_found("The specified principalArn could not be found. You can view your "
                              "available access entries with 'list-access-entries'.")

    def pod_identity_not_found(self, association):
        return self.not_found(f"No Pod Identity Association found for id: {association}")

    def in_use(self, message):
        return error(409, "ResourceInUseException", message, self.name)

    def invalid(self, message):
        return error(400, "InvalidParameterException", message, self.name)

    # Shapes.

    def entry_json(self, principal_arn, e):
        return {
            "clusterName": self.name,
            "principalArn": principal_arn,
            "kubernetesGroups": e["groups"],
            "accessEntryArn": e["arn"],
            "createdAt": e["created_at"],
            "modifiedAt": e["modified_at"],
            "tags": e["tags"],
            "username": e["username"],
            "type": e["kind"],
        }

    @staticmethod
    def association_json(policy_arn, a):
        return {
            "policyArn": policy_arn,
            "accessScope": {"type": a["scope_type"], "namespaces": a["namespaces"]},
            "associatedAt": a["associated_at"],
            "modifiedAt": a["modified_at"],
        }

    def pod_identity_arn(self, association):
        return (f"arn:aws:eks:{self.c.region}:{self.c.account}:podidentityassociation/"
                f"{self.name}/{association}")

    def pod_identity_json(self, association, p):
        out = {
            "clusterName": self.name,
            "namespace": p["namespace"],
            "serviceAccount": p["service_account"],
            "roleArn": p["role_arn"],
            "associationArn": self.pod_identity_arn(association),
            "associationId": association,
            "tags": p["tags"],
            "createdAt": p["created_at"],
            "modifiedAt": p["modified_at"],
            "disableSessionTags": p["disable_session_tags"],
        }
        if p["target_role_arn"] is not None:
            out["targetRoleArn"] = p["target_role_arn"]
        if p["policy"] is not None:
            out["policy"] = p["policy"]
        return out

    @staticmethod
    def with_token(out, token):
        if token is not None:
            out["nextToken"] = token
        return out

    def entry(self, principal_arn):
        e = self.c.entries.get(principal_arn)
        if e is None:
            raise self.entry_not_found()
        return e

    # Access entries.

    def create_access_entry(self):
        body = self.body()
        principal_arn = self.required(body, "principalArn")
        kind = optional_string(body, "type") or "STANDARD"
        username = optional_string(body, "username")
        groups = strings(body, "kubernetesGroups")
        entry_tags = tags(body)
        if kind not in ENTRY_TYPES:
            raise self.invalid(f"The access entry type {kind} is not valid; valid types are "
                               f"{', '.join(ENTRY_TYPES)}.")
        principal = parse_principal(principal_arn)
        if principal is None:
            raise self.invalid(f"The principalArn {principal_arn} is not a valid IAM user or role ARN.")
        if kind != "STANDARD":
            if principal[2] != "role":
                raise self.invalid(f"Access entries of type {kind} accept only IAM role principals.")
            if username is not None or groups:
                raise self.invalid(f"The username and kubernetesGroups cannot be specified for "
                                   f"access entries of type {kind}.")
        if principal_arn in self.c.entries:
            raise self.in_use("The specified access entry resource is already in use on this cluster.")
        _, owner, resource, name = principal
        entry = {
            "kind": kind,
            "username": username if username is not None
            else default_username(kind, principal_arn, principal),
            "groups": groups or node_groups(kind),
            "tags": entry_tags,
            "arn": (f"arn:aws:eks:{self.c.region}:{self.c.account}:access-entry/{self.name}/"
                    f"{resource}/{owner}/{name}/{uuid.uuid4()}"),
            "created_at": self.now,
            "modified_at": self.now,
            "policies": {},
        }
        self.c.entries[principal_arn] = entry
        return {"accessEntry": self.entry_json(principal_arn, entry)}

    def list_access_entries(self):
        policy = self.param("associatedPolicyArn")
        items = [(arn, arn) for arn, e in self.c.entries.items()
                 if policy is None or policy in e["policies"]]
        page, token = self.page(items)
        return self.with_token({"accessEntries": page}, token)

    def describe_access_entry(self, principal_arn):
        return {"accessEntry": self.entry_json(principal_arn, self.entry(principal_arn))}

    def update_access_entry(self, principal_arn):
        body = self.body()
        username = optional_string(body, "username")
        groups = strings(body, "kubernetesGroups") if "kubernetesGroups" in body else None
        e = self.entry(principal_arn)
        if e["kind"] != "STANDARD" and (username is not None or groups is not None):
            raise self.invalid(f"The username and kubernetesGroups cannot be specified for access "
                               f"entries of type {e['kind']}.")
        if username is not None:
            e["username"] = username
        if groups is not None:
            e["groups"] = groups
        e["modified_at"] = self.now
        return {"accessEntry": self.entry_json(principal_arn, e)}

    def delete_access_entry(self, principal_arn):
        # Its policy associations go with it, as in EKS.
        if self.c.entries.pop(principal_arn, None) is None:
            raise self.entry_not_found()
        return {}

    def associate_access_policy(self, principal_arn):
        body = self.body()
        policy_arn = self.required(body, "policyArn")
        scope = body.get("accessScope")
        if not isinstance(scope, dict):
            raise self.invalid("accessScope is required and must be an object.")
        scope_type = self.required(scope, "type")
        namespaces = strings(scope, "namespaces")
        if scope_type == "cluster" and namespaces:
            raise self.invalid("Namespaces cannot be specified for a cluster scope.")
        if scope_type == "namespace" and not namespaces:
            raise self.invalid("A namespace scope needs at least one namespace.")
        if scope_type not in ("cluster", "namespace"):
            raise self.invalid(f"The access scope type {scope_type} is not valid; valid types are "
                               f"cluster, namespace.")
        e = self.entry(principal_arn)
        earlier = e["policies"].get(policy_arn)
        e["policies"][policy_arn] = {
            "scope_type": scope_type,
            "namespaces": namespaces,
            "associated_at": earlier["associated_at"] if earlier else self.now,
            "modified_at": self.now,
        }
        e["modified_at"] = self.now
        return {
            "clusterName": self.name,
            "principalArn": principal_arn,
            "associatedAccessPolicy": self.association_json(policy_arn, e["policies"][policy_arn]),
        }

    def list_associated_access_policies(self, principal_arn):
        e = self.entry(principal_arn)
        items = [(policy, self.association_json(policy, a)) for policy, a in e["policies"].items()]
        page, token = self.page(items)
        return self.with_token({"clusterName": self.name, "principalArn": principal_arn,
                                "associatedAccessPolicies": page}, token)

    def disassociate_access_policy(self, principal_arn, policy_arn):
        e = self.entry(principal_arn)
        if e["policies"].pop(policy_arn, None) is None:
            raise self.not_found(f"The access policy {policy_arn} is not associated with the "
                                 f"access entry {principal_arn}.")
        return {}

    # Pod Identity associations.

    def create_pod_identity(self):
        body = self.body()
        namespace = self.required(body, "namespace")
        service_account = self.required(body, "serviceAccount")
        role_arn = self.required(body, "roleArn")
        target_role_arn = optional_string(body, "targetRoleArn")
        policy = optional_string(body, "policy")
        disable_session_tags = optional_bool(body, "disableSessionTags")
        association_tags = tags(body)
        for existing, p in self.c.pod_identities.items():
            if p["namespace"] == namespace and p["service_account"] == service_account:
                raise self.in_use(f"Association already exists: {existing}")
        association = association_id(self.c.pod_identities)
        p = {
            "namespace": namespace,
            "service_account": service_account,
            "role_arn": role_arn,
            "target_role_arn": target_role_arn,
            "policy": policy,
            "disable_session_tags": bool(disable_session_tags),
            "tags": association_tags,
            "created_at": self.now,
            "modified_at": self.now,
        }
        self.c.pod_identities[association] = p
        return {"association": self.pod_identity_json(association, p)}

    def list_pod_identities(self):
        namespace = self.param("namespace")
        service_account = self.param("serviceAccount")
        items = [(association, {
            "clusterName": self.name,
            "namespace": p["namespace"],
            "serviceAccount": p["service_account"],
            "associationArn": self.pod_identity_arn(association),
            "associationId": association,
        }) for association, p in self.c.pod_identities.items()
            if (namespace is None or p["namespace"] == namespace)
            and (service_account is None or p["service_account"] == service_account)]
        page, token = self.page(items)
        return self.with_token({"associations": page}, token)

    def pod_identity(self, association):
        p = self.c.pod_identities.get(association)
        if p is None:
            raise self.pod_identity_not_found(association)
        return p

    def describe_pod_identity(self, association):
        return {"association": self.pod_identity_json(association, self.pod_identity(association))}

    def update_pod_identity(self, association):
        body = self.body()
        role_arn = optional_string(body, "roleArn")
        target_role_arn = optional_string(body, "targetRoleArn")
        policy = optional_string(body, "policy")
        disable_session_tags = optional_bool(body, "disableSessionTags")
        p = self.pod_identity(association)
        if role_arn is not None:
            p["role_arn"] = role_arn
        if target_role_arn is not None:
            # EKS clears the target role when it is sent empty.
            p["target_role_arn"] = target_role_arn or None
        if policy is not None:
            p["policy"] = policy or None
        if disable_session_tags is not None:
            p["disable_session_tags"] = disable_session_tags
        p["modified_at"] = self.now
        return {"association": self.pod_identity_json(association, p)}

    def delete_pod_identity(self, association):
        p = self.pod_identity(association)
        del self.c.pod_identities[association]
        return {"association": self.pod_identity_json(association, p)}

    # Add-ons (read only: see the module docstring).

    def list_addons(self):
        page, token = self.page([(name, name) for name in self.c.addons])
        return self.with_token({"addons": page}, token)

    def describe_addon(self, name):
        addon = self.c.addons.get(name)
        if addon is None:
            raise self.not_found(f"No addon: {name} found in cluster: {self.name}",
                                 {"addonName": name})
        return {"addon": {
            "addonName": name,
            "clusterName": self.name,
            "status": "ACTIVE",
            "addonVersion": addon["version"],
            "health": {"issues": []},
            "addonArn": addon["arn"],
            "createdAt": addon["created_at"],
            "modifiedAt": addon["created_at"],
            "tags": {},
            "podIdentityAssociations": [],
        }}


def route(method, family, rest):
    """The operation for a request under /clusters/{name}/{family}/...: a function of a Call,
    or None (not ours: forwarded to moto, as CreateAddon is)."""
    table = {
        ("POST", "access-entries", 0): lambda call: call.create_access_entry(),
        ("GET", "access-entries", 0): lambda call: call.list_access_entries(),
        ("GET", "access-entries", 1): lambda call: call.describe_access_entry(rest[0]),
        ("POST", "access-entries", 1): lambda call: call.update_access_entry(rest[0]),
        ("DELETE", "access-entries", 1): lambda call: call.delete_access_entry(rest[0]),
        ("POST", "pod-identity-associations", 0): lambda call: call.create_pod_identity(),
        ("GET", "pod-identity-associations", 0): lambda call: call.list_pod_identities(),
        ("GET", "pod-identity-associations", 1): lambda call: call.describe_pod_identity(rest[0]),
        ("POST", "pod-identity-associations", 1): lambda call: call.update_pod_identity(rest[0]),
        ("DELETE", "pod-identity-associations", 1): lambda call: call.delete_pod_identity(rest[0]),
        ("GET", "addons", 0): lambda call: call.list_addons(),
        ("GET", "addons", 1): lambda call: call.describe_addon(rest[0]),
    }
    if family == "access-entries" and len(rest) >= 2 and rest[1] == "access-policies":
        if method == "POST" and len(rest) == 2:
            return lambda call: call.associate_access_policy(rest[0])
        if method == "GET" and len(rest) == 2:
            return lambda call: call.list_associated_access_policies(rest[0])
        if method == "DELETE" and len(rest) == 3:
            return lambda call: call.disassociate_access_policy(rest[0], rest[2])
        return None
    return table.get((method, family, len(rest)))


def split_path(path):
    """The percent-decoded segments of a path, without leading and trailing slashes."""
    return [urllib.parse.unquote(s, errors="replace") for s in path.strip("/").split("/")]


def parse_query(query):
    out = []
    for pair in query.split("&"):
        if pair:
            k, _, v = pair.partition("=")
            out.append((urllib.parse.unquote(k, errors="replace"),
                        urllib.parse.unquote(v, errors="replace")))
    return out


class Model:
    def __init__(self):
        self.lock = threading.Lock()
        self.clusters = {}  # name -> Cluster, for the clusters moto knows

    def known(self, name):
        with self.lock:
            return name in self.clusters

    def learn(self, name, region, account):
        with self.lock:
            self.clusters.setdefault(name, Cluster(region, account))

    def forget(self, name):
        with self.lock:
            self.clusters.pop(name, None)

    def answer(self, name, operation, query, body):
        with self.lock:
            cluster = self.clusters.get(name)
            if cluster is None:  # deleted meanwhile
                return no_cluster(name)
            call = Call(name, cluster, parse_query(query), body)
            try:
                return ok(operation(call))
            except Answer as answer:
                return answer


def no_cluster(name):
    return error(404, "ResourceNotFoundException", f"No cluster found for name: {name}.", name)


# --------------------------------------------------------------------------- cluster fields

class ClusterExtras:
    """`deletionProtection` and `upgradePolicy.supportType` of the clusters created through this
    proxy (see the module docstring): answers some requests before moto (`answer`) and adds the
    fields to moto's answers (`rewrite`)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.clusters = {}  # name -> {"deletion_protection": bool, "support_type": str}

    def answer(self, method, segments, body):
        """This proxy's own answer to a request (an Answer), or None: it goes on to moto."""
        if len(segments) == 3 and segments[0] == "clusters" and segments[2] == "update-config" \
                and method == "POST":
            return self.update_config(segments[1], body)
        if len(segments) == 2 and segments[0] == "clusters" and method == "DELETE":
            with self.lock:
                extras = self.clusters.get(segments[1])
                protected = extras is not None and extras["deletion_protection"]
            if protected:
                return error(400, "InvalidRequestException",
                             "Cannot delete the cluster while deletion protection is enabled; "
                             "disable deletion protection first.", segments[1])
        return None

    def update_config(self, name, body):
        """UpdateClusterConfig carrying one of the fields, for a cluster created here: answered
        here; any other update goes on to moto (None)."""
        try:
            request = json.loads(body.decode("utf-8"))
        except ValueError:  # also UnicodeDecodeError
            return None
        if not isinstance(request, dict):
            return None
        kinds = [k for k in UPDATE_KINDS if k in request]
        if "deletionProtection" not in kinds and "upgradePolicy" not in kinds:
            return None
        with self.lock:
            extras = self.clusters.get(name)
            if extras is None:
                return None
            if len(kinds) > 1:
                return error(400, "InvalidParameterException",
                             "Only one type of update can be allowed.", name)
            if "deletionProtection" in request:
                on = request["deletionProtection"]
                if not isinstance(on, bool):
                    return error(400, "InvalidParameterException",
                                 "deletionProtection must be a boolean.", name)
                extras["deletion_protection"] = on
                kind, param, value = ("DeletionProtectionUpdate", "DeletionProtection",
                                      "true" if on else "false")
            else:
                policy = request["upgradePolicy"]
                support = policy.get("supportType") if isinstance(policy, dict) else None
                if support not in ("STANDARD", "EXTENDED"):
                    return error(400, "InvalidParameterException",
                                 "upgradePolicy.supportType must be STANDARD or EXTENDED.", name)
                extras["support_type"] = support
                kind, param, value = "UpgradePolicyUpdate", "UpgradePolicy", support
        return ok({"update": {
            "id": str(uuid.uuid4()),
            "status": "InProgress",
            "type": kind,
            "params": [{"type": param, "value": value}],
            "createdAt": now(),
            "errors": [],
        }})

    def rewrite(self, method, segments, request_body, status, data):
        """moto's answer `data` (with `status`) with the fields added, or None: leave it.
        Learns from CreateCluster and DeleteCluster calls that succeeded."""
        if status != 200 or not segments or segments[0] != "clusters":
            return None
        if method == "POST" and len(segments) == 1:
            try:
                asked = json.loads(request_body.decode("utf-8"))
            except ValueError:
                return None
            name = asked.get("name") if isinstance(asked, dict) else None
            if not isinstance(name, str):
                return None
            on = asked.get("deletionProtection")
            policy = asked.get("upgradePolicy")
            support = policy.get("supportType") if isinstance(policy, dict) else None
            extras = {
                "deletion_protection": on if isinstance(on, bool) else DEFAULT_DELETION_PROTECTION,
                "support_type": support if isinstance(support, str) else DEFAULT_SUPPORT_TYPE,
            }
            with self.lock:
                self.clusters[name] = dict(extras)
        elif method == "GET" and len(segments) == 2:
            with self.lock:
                extras = self.clusters.get(segments[1])
                extras = dict(extras) if extras is not None else None
            if extras is None:
                return None
        elif method == "DELETE" and len(segments) == 2:
            with self.lock:
                self.clusters.pop(segments[1], None)
            return None
        else:
            return None
        try:
            answer = json.loads(data.decode("utf-8"))
        except ValueError:
            return None
        cluster = answer.get("cluster") if isinstance(answer, dict) else None
        if not isinstance(cluster, dict):
            return None
        cluster["deletionProtection"] = extras["deletion_protection"]
        cluster["upgradePolicy"] = {"supportType": extras["support_type"]}
        return json.dumps(answer, separators=(",", ":")).encode("utf-8")


# --------------------------------------------------------------------------- HTTP

class Upstream:
    """moto's server: one connection per request."""

    def __init__(self, url):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(f"--upstream must be http://host:port, not {url!r}")
        self.host, self.port = parsed.hostname, parsed.port or 80

    def send(self, method, target, headers, body):
        """Sends the request as given (headers in order, Host included); returns
        (status, reason, headers, body) with the body whole."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=UPSTREAM_TIMEOUT)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for k, v in headers:
                conn.putheader(k, v)
            conn.endheaders(body if body or method in ("POST", "PUT", "PATCH") else None)
            resp = conn.getresponse()
            data = b"" if method == "HEAD" else resp.read()
            return resp.status, resp.reason, resp.getheaders(), data
        finally:
            conn.close()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes: without TCP_NODELAY, Nagle's algorithm holds
    # the body until the client's delayed ACK (40 ms on Linux), three times per event.
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT
    model = None      # set by serve()
    extras = None     # set by serve()
    upstream = None   # set by serve()

    def log_message(self, fmt, *args):
        log(fmt % args)

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def do_any(self):
        body = self.read_body()
        target = self.path
        path, _, query = target.partition("?")
        segments = split_path(path)
        if len(segments) >= 3 and segments[0] == "clusters" and segments[2] in FAMILIES:
            name, family, rest = segments[1], segments[2], segments[3:]
            operation = route(self.command, family, rest)
            if operation is not None:
                self.answer_here(name, operation, query, body)
                return
        answer = self.extras.answer(self.command, segments, body)
        if answer is not None:
            self.reply(answer.status, http.client.responses.get(answer.status, ""),
                       answer.headers, answer.encode(), "stand-in")
            return
        status, reason, headers, data = self.forward(self.command, target, self.request_headers(body), body)
        if (self.command == "DELETE" and status == 200 and len(segments) == 2
                and segments[0] == "clusters"):
            self.model.forget(segments[1])
        # The cluster fields moto leaves out (a body that is not JSON, e.g. compressed, is left).
        changed = self.extras.rewrite(self.command, segments, body, status, data)
        self.reply(status, reason, headers, data if changed is None else changed,
                   "moto" if changed is None else "moto+", body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_any

    def request_headers(self, body):
        """The client's headers in order, without hop-by-hop ones; Content-Length as the body
        is (the client's own, unless it sent chunks)."""
        out = [(k, v) for k, v in self.headers.items()
               if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
        if body or "Content-Length" in self.headers or "Transfer-Encoding" in self.headers:
            out.append(("Content-Length", str(len(body))))
        return out

    def forward(self, method, target, headers, body):
        try:
            return self.upstream.send(method, target, headers, body)
        except (OSError, http.client.HTTPException) as exc:
            log(f"upstream error for {method} {target}: {exc}")
            answer = error(502, "ServiceUnavailableException", f"moto did not answer: {exc}")
            return 502, "Bad Gateway", answer.headers, answer.encode()

    def cluster_known(self, name):
        """Whether moto knows the cluster (asked once, then remembered); None and the answer
        to relay when moto could not say."""
        if self.model.known(name):
            return True, None
        headers = [(k, v) for k, v in self.headers.items()
                   if k.lower() in ("host", "authorization", "x-amz-date", "x-amz-security-token",
                                    "user-agent")]
        target = "/clusters/" + urllib.parse.quote(name, safe="")
        status, reason, resp_headers, data = self.forward("GET", target, headers, b"")
        if status == 404:
            return False, None
        if status != 200:
            return None, (status, reason, resp_headers, data)
        try:
            arn = json.loads(data)["cluster"]["arn"]
            _, _, _, region, account, _ = arn.split(":", 5)
        except (ValueError, KeyError, TypeError):
            region, account = "us-east-1", "123456789012"
        self.model.learn(name, region, account)
        log(f"cluster {name} is known to moto ({region}, {account})")
        return True, None

    def answer_here(self, name, operation, query, body):
        known, relay = self.cluster_known(name)
        if relay is not None:
            self.reply(*relay, "moto (cluster check)")
            return
        answer = self.model.answer(name, operation, query, body) if known else no_cluster(name)
        self.reply(answer.status, http.client.responses.get(answer.status, ""), answer.headers,
                   answer.encode(), "stand-in")

    def reply(self, status, reason, headers, data, by, body=b""):
        self.send_response_only(status, reason)
        for k, v in headers:
            if k.lower() in HOP_BY_HOP:
                continue
            if k.lower() == "content-length" and self.command != "HEAD":
                continue
            self.send_header(k, v)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and data:
            self.wfile.write(data)
        self.wfile.flush()
        what = self.headers.get("X-Amz-Target") or action(body)
        log(f"{by:<8} {status} {self.command} {self.path}" + (f" ({what})" if what else ""))


def action(body):
    """The `Action` of a query-protocol request (IAM, SNS, EC2, STS), for the log."""
    found = re.search(rb"(?:^|&)Action=([A-Za-z0-9]+)", body[:4096])
    return found.group(1).decode() if found else ""


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(host, port, upstream_url):
    Handler.model = Model()
    Handler.extras = ClusterExtras()
    Handler.upstream = Upstream(upstream_url)
    server = Server((host, port), Handler)
    bound = server.server_address
    log(f"listening on http://{bound[0]}:{bound[1]}, forwarding the rest to {upstream_url}")
    return server


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--upstream", required=True, help="moto's server, http://host:port")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 (the default): a free port")
    args = ap.parse_args()

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    try:
        server = serve(args.host, args.port, args.upstream)
    except (OSError, ValueError) as exc:
        log(f"cannot start: {exc}")
        return 2
    try:
        server.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
        log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
