//! AWS Organizations: the member accounts `eks-remediator scan --org` enters.

use aws_sdk_organizations::types::{AccountState, AccountStatus};

use super::errors::classify;
use super::Aws;
use crate::error::AwsError;

/// A member account of the organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub name: String,
}

impl Aws {
    /// Every active account of the caller's organisation (`ListAccounts`, all pages), in the
    /// order Organizations lists them. Suspended and closing accounts cannot be entered, so
    /// they are left out. `State` replaced `Status` in 2026; an answer with only `Status` is
    /// still read.
    pub async fn active_accounts(&self) -> Result<Vec<Account>, AwsError> {
        let mut pages = self
            .organizations()
            .await
            .list_accounts()
            .into_paginator()
            .send();
        let mut accounts = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListAccounts", "organization", e))?;
            for account in page.accounts() {
                let active = match (account.state(), account.status()) {
                    (Some(state), _) => *state == AccountState::Active,
                    (None, Some(status)) => *status == AccountStatus::Active,
                    (None, None) => false,
                };
                if let (true, Some(id)) = (active, account.id()) {
                    accounts.push(Account {
                        id: id.to_owned(),
                        name: account.name().unwrap_or_default().to_owned(),
                    });
                }
            }
        }
        Ok(accounts)
    }
}
