//! Plans for `revoke-open-ingress` (revoke these rule ids, with the command that undoes it)
//! and their execution. Alert-only mode builds the same plan and does not run it.

use serde_json::Value;

use crate::aws::Aws;
use crate::domain::{shell_quote, IngressRule, SecurityGroupId, SecurityGroupRuleId};
use crate::error::AwsError;

/// Revoke exactly these rules of one group.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub group: SecurityGroupId,
    pub rules: Vec<(SecurityGroupRuleId, IngressRule)>,
}

impl Plan {
    /// One action per rule, as DESIGN.md shows them: `RevokeSecurityGroupIngress sgr-...`.
    pub fn actions(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|(id, _)| format!("RevokeSecurityGroupIngress {id}"))
            .collect()
    }

    /// An AWS CLI command that re-creates exactly the revoked rules, descriptions included.
    /// (The restored rules get new ids; EC2 cannot re-create an id.)
    pub fn undo(&self) -> String {
        let permissions: Vec<Value> = self
            .rules
            .iter()
            .map(|(_, r)| r.ip_permission_json())
            .collect();
        format!(
            "aws ec2 authorize-security-group-ingress --group-id {} --ip-permissions {}",
            self.group,
            shell_quote(&Value::Array(permissions).to_string())
        )
    }

    /// The plan restricted to the rules in `ids`.
    pub fn only(&self, ids: &[SecurityGroupRuleId]) -> Plan {
        Plan {
            group: self.group.clone(),
            rules: self
                .rules
                .iter()
                .filter(|(id, _)| ids.contains(id))
                .cloned()
                .collect(),
        }
    }
}

/// What running a plan did: the rules revoked, and the error that stopped the rest.
#[derive(Debug)]
pub struct Execution {
    pub revoked: Vec<SecurityGroupRuleId>,
    pub error: Option<AwsError>,
}

/// Runs `plan`.
///
/// One call revokes all of the group's rules. If EC2 answers "not found" (another
/// invocation, or a person, removed one meanwhile), each rule is retried alone, so that
/// the remaining ones still go and the race ends in one change and no error.
pub async fn execute(aws: &Aws, plan: &Plan) -> Execution {
    let ids: Vec<SecurityGroupRuleId> = plan.rules.iter().map(|(id, _)| id.clone()).collect();
    match aws.revoke_ingress(&plan.group, &ids).await {
        Ok(()) => Execution {
            revoked: ids,
            error: None,
        },
        Err(e) if e.is_not_found() && ids.len() > 1 => {
            let mut revoked = Vec::new();
            for id in ids {
                match aws
                    .revoke_ingress(&plan.group, std::slice::from_ref(&id))
                    .await
                {
                    Ok(()) => revoked.push(id),
                    Err(e) if e.is_not_found() => {}
                    Err(e) => {
                        return Execution {
                            revoked,
                            error: Some(e),
                        }
                    }
                }
            }
            Execution {
                revoked,
                error: None,
            }
        }
        Err(e) if e.is_not_found() => Execution {
            revoked: Vec::new(),
            error: None,
        },
        Err(e) => Execution {
            revoked: Vec::new(),
            error: Some(e),
        },
    }
}
