//! API tokens for the REST API (`/api/v1`): what a token is, what its scopes let it reach,
//! and who it acts for.
//!
//! - A **personal** token acts with its owner's rights, read at each request: never more
//!   than the person, and nothing once they are deactivated or lose their role.
//! - A **service** token is bound to a role, and acts with that role's rights for as long
//!   as the person who made it still holds every right of that role.
//!
//! Either way its **scopes** narrow what it reaches further: read or write per area
//! (`flows:read`, `executions:write`, …; write includes read). Only a hash of a token is
//! kept; it is shown once, when made, and it expires.

use crate::access::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The longest a token may live, in days.
pub const LONGEST_DAYS: u32 = 365;
/// How long a token lives unless its maker chooses.
pub const DEFAULT_DAYS: u32 = 90;
/// What every API token starts with, so secret scanners can find a leaked one.
pub const PREFIX: &str = "idf_api_";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenKind {
    Personal,
    Service,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Personal => "personal",
            TokenKind::Service => "service",
        }
    }

    pub fn parse(text: &str) -> Option<TokenKind> {
        match text {
            "personal" => Some(TokenKind::Personal),
            "service" => Some(TokenKind::Service),
            _ => None,
        }
    }
}

/// A part of idflow a scope opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Area {
    Flows,
    Executions,
    Tables,
    Connections,
    Directory,
    Logs,
}

impl Area {
    pub const ALL: [Area; 6] = [
        Area::Flows,
        Area::Executions,
        Area::Tables,
        Area::Connections,
        Area::Directory,
        Area::Logs,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Area::Flows => "flows",
            Area::Executions => "executions",
            Area::Tables => "tables",
            Area::Connections => "connections",
            Area::Directory => "directory",
            Area::Logs => "logs",
        }
    }

    /// Whether the area has anything to write through the API.
    pub fn writable(self) -> bool {
        !matches!(self, Area::Directory | Area::Logs)
    }
}

/// Read, or read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    Read,
    Write,
}

/// One scope: an area, and whether the token may change things there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Scope {
    pub area: Area,
    pub level: Level,
}

impl Scope {
    pub fn read(area: Area) -> Scope {
        Scope {
            area,
            level: Level::Read,
        }
    }

    pub fn write(area: Area) -> Scope {
        Scope {
            area,
            level: Level::Write,
        }
    }

    /// Every scope there is: each area's read, and write where the area has one.
    pub fn all() -> Vec<Scope> {
        Area::ALL
            .iter()
            .flat_map(|&area| {
                std::iter::once(Scope::read(area))
                    .chain(area.writable().then(|| Scope::write(area)))
            })
            .collect()
    }

    pub fn name(self) -> String {
        let level = match self.level {
            Level::Read => "read",
            Level::Write => "write",
        };
        format!("{}:{level}", self.area.as_str())
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::all().into_iter().find(|s| s.name() == text.trim())
    }

    /// Whether holding `self` lets a request needing `needed` through (write includes read).
    pub fn covers(self, needed: Scope) -> bool {
        self.area == needed.area && self.level >= needed.level
    }
}

/// Scopes written as names separated by spaces or commas; refused with the unknown one.
pub fn parse_scopes(text: &str) -> Result<Vec<Scope>, String> {
    let mut scopes = Vec::new();
    for name in text
        .split([' ', ',', '\n'])
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let scope = Scope::parse(name).ok_or_else(|| {
            format!(
                "{name:?} is not a scope; the scopes are {}",
                Scope::all()
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    scopes.sort();
    Ok(scopes)
}

/// An API token as lists show it (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    /// `personal` or `service`.
    pub kind: String,
    /// Personal: the person it acts as. Service: the person who made it.
    pub owner_id: Uuid,
    /// Their user name when made.
    pub owner_name: String,
    /// A service token's role.
    pub role: Option<String>,
    /// Its scopes' names, separated by spaces.
    pub scopes: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    pub fn kind(&self) -> Option<TokenKind> {
        TokenKind::parse(&self.kind)
    }

    pub fn role(&self) -> Option<Role> {
        self.role.as_deref().and_then(|r| r.parse().ok())
    }

    pub fn scopes(&self) -> Vec<Scope> {
        parse_scopes(&self.scopes).unwrap_or_default()
    }

    /// Whether its scopes let a request needing `needed` through.
    pub fn allows(&self, needed: Scope) -> bool {
        self.scopes().iter().any(|s| s.covers(needed))
    }

    /// Live: not revoked and not expired at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }

    /// Revoked, expired, or live: as lists say it.
    pub fn status(&self, now: DateTime<Utc>) -> &'static str {
        if self.revoked_at.is_some() {
            "Revoked"
        } else if self.expires_at <= now {
            "Expired"
        } else {
            "Active"
        }
    }
}

/// What a request is, for an `Idempotency-Key`: its method, path and body, hashed. A key
/// used again for a different request is refused.
#[cfg(feature = "server")]
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update([0]);
    hash.update(path.as_bytes());
    hash.update([0]);
    hash.update(body);
    hex::encode(hash.finalize())
}

/// Where an `Idempotency-Key` stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Idempotency {
    /// First seen now: the request runs.
    Claimed,
    /// Seen, its request still running.
    Pending { fingerprint: String },
    /// Seen, and answered with `status` and `body`.
    Answered {
        fingerprint: String,
        status: u16,
        body: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_and_write_per_area() {
        let scopes = parse_scopes("flows:write, logs:read executions:read").unwrap();
        assert_eq!(
            scopes,
            vec![
                Scope::write(Area::Flows),
                Scope::read(Area::Executions),
                Scope::read(Area::Logs)
            ]
        );
        assert!(Scope::write(Area::Flows).covers(Scope::read(Area::Flows)));
        assert!(!Scope::read(Area::Flows).covers(Scope::write(Area::Flows)));
        assert!(!Scope::write(Area::Flows).covers(Scope::read(Area::Tables)));
        assert!(
            parse_scopes("logs:write")
                .unwrap_err()
                .contains("not a scope")
        );
        assert!(parse_scopes("everything").is_err());
        assert_eq!(parse_scopes("").unwrap(), vec![]);
    }

    #[test]
    fn every_scope_reads_back_by_its_name() {
        for scope in Scope::all() {
            assert_eq!(Scope::parse(&scope.name()), Some(scope));
        }
        assert_eq!(Scope::all().len(), 10);
    }
}
