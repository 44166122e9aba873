//! Authorization: `(principal, action) → allow / deny`, the only place roles and scopes are
//! compared. Handlers describe what they are about to do as an [`Action`] and ask.
//! Whether the action leaves the organization without an owner is a data question, checked
//! atomically next to the write; everything else is decided here.

use serde::{Deserialize, Serialize};

/// Roles, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Member,
    Admin,
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }
}

/// API key scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "documents:read")]
    DocumentsRead,
    #[serde(rename = "documents:write")]
    DocumentsWrite,
    #[serde(rename = "files:read")]
    FilesRead,
    #[serde(rename = "files:write")]
    FilesWrite,
    #[serde(rename = "rooms:join")]
    RoomsJoin,
    #[serde(rename = "jobs:write")]
    JobsWrite,
    #[serde(rename = "usage:read")]
    UsageRead,
}

impl Scope {
    pub const ALL: [Scope; 7] = [
        Scope::DocumentsRead,
        Scope::DocumentsWrite,
        Scope::FilesRead,
        Scope::FilesWrite,
        Scope::RoomsJoin,
        Scope::JobsWrite,
        Scope::UsageRead,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::DocumentsRead => "documents:read",
            Scope::DocumentsWrite => "documents:write",
            Scope::FilesRead => "files:read",
            Scope::FilesWrite => "files:write",
            Scope::RoomsJoin => "rooms:join",
            Scope::JobsWrite => "jobs:write",
            Scope::UsageRead => "usage:read",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Who is acting, as far as authorization cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal<'a> {
    /// A signed-in user with their role in the organization.
    User(Role),
    /// An API key of the organization: at most member rights, narrowed by its scopes.
    ApiKey(&'a [Scope]),
}

/// What the caller is about to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    OrgRead,
    OrgUpdate,
    OrgDelete,
    MembersRead,
    /// Change `target`'s role (currently `from`) to `to`.
    MemberChangeRole {
        from: Role,
        to: Role,
        is_self: bool,
    },
    /// Remove a member whose role is `target`; `is_self` is leaving the organization.
    MemberRemove {
        target: Role,
        is_self: bool,
    },
    InvitationCreate {
        role: Role,
    },
    InvitationsManage,
    ApiKeysManage,
    AuditRead,
    UsageRead,
    BillingManage,
    DocumentsRead,
    /// Create documents, and edit own or `edit`-shared ones.
    DocumentsWrite,
    /// Edit or delete any document of the organization.
    DocumentsAdmin,
    FilesRead,
    FilesWrite,
    RoomsJoin,
    RoomsSend,
    JobsRead,
    JobsWrite,
    /// Call the customer's origin through the authenticated proxy.
    OriginProxy,
}

/// Why an action was refused (goes into the 403 problem's detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied(pub &'static str);

pub fn authorize(principal: Principal<'_>, action: Action) -> Result<(), Denied> {
    match principal {
        Principal::User(role) => authorize_role(role, action),
        Principal::ApiKey(scopes) => authorize_key(scopes, action),
    }
}

fn at_least(role: Role, min: Role, why: &'static str) -> Result<(), Denied> {
    if role >= min {
        Ok(())
    } else {
        Err(Denied(why))
    }
}

fn authorize_role(role: Role, action: Action) -> Result<(), Denied> {
    use Action::*;
    use Role::*;
    match action {
        OrgRead | MembersRead | DocumentsRead | FilesRead | RoomsJoin | JobsRead => Ok(()),
        DocumentsWrite | FilesWrite | RoomsSend | JobsWrite | OriginProxy => {
            at_least(role, Member, "viewers have read-only access")
        }
        OrgUpdate | InvitationsManage | ApiKeysManage | AuditRead | UsageRead | DocumentsAdmin => {
            at_least(role, Admin, "this needs the admin or owner role")
        }
        OrgDelete | BillingManage => at_least(role, Owner, "only owners may do this"),
        InvitationCreate { role: invited } => {
            at_least(role, Admin, "only admins and owners invite")?;
            if invited == Owner && role != Owner {
                return Err(Denied("only owners may invite owners"));
            }
            Ok(())
        }
        MemberChangeRole {
            from,
            to,
            is_self: _,
        } => {
            at_least(role, Admin, "only admins and owners change roles")?;
            if role != Owner && (from == Owner || to == Owner) {
                return Err(Denied(
                    "only owners may change an owner's role or make owners",
                ));
            }
            Ok(())
        }
        MemberRemove { target, is_self } => {
            if is_self {
                // Anyone may leave; the last owner is stopped by the data check.
                return Ok(());
            }
            at_least(role, Admin, "only admins and owners remove members")?;
            if target == Owner && role != Owner {
                return Err(Denied("only owners may remove owners"));
            }
            Ok(())
        }
    }
}

fn authorize_key(scopes: &[Scope], action: Action) -> Result<(), Denied> {
    use Action::*;
    let need = |s: Scope| {
        if scopes.contains(&s) {
            Ok(())
        } else {
            Err(Denied(match s {
                Scope::DocumentsRead => "the API key lacks the documents:read scope",
                Scope::DocumentsWrite => "the API key lacks the documents:write scope",
                Scope::FilesRead => "the API key lacks the files:read scope",
                Scope::FilesWrite => "the API key lacks the files:write scope",
                Scope::RoomsJoin => "the API key lacks the rooms:join scope",
                Scope::JobsWrite => "the API key lacks the jobs:write scope",
                Scope::UsageRead => "the API key lacks the usage:read scope",
            }))
        }
    };
    match action {
        OrgRead => Ok(()),
        DocumentsRead => need(Scope::DocumentsRead),
        DocumentsWrite => need(Scope::DocumentsWrite),
        FilesRead => need(Scope::FilesRead),
        FilesWrite => need(Scope::FilesWrite),
        RoomsJoin | RoomsSend => need(Scope::RoomsJoin),
        JobsRead | JobsWrite | OriginProxy => need(Scope::JobsWrite),
        UsageRead => need(Scope::UsageRead),
        OrgUpdate
        | OrgDelete
        | MembersRead
        | MemberChangeRole { .. }
        | MemberRemove { .. }
        | InvitationCreate { .. }
        | InvitationsManage
        | ApiKeysManage
        | AuditRead
        | BillingManage
        | DocumentsAdmin => Err(Denied(
            "API keys cannot manage the organization, its members, keys or billing",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use Role::*;

    fn allowed(p: Principal<'_>, a: Action) -> bool {
        authorize(p, a).is_ok()
    }

    /// The whole role × action table, row by row: (action, [owner, admin, member, viewer]).
    #[test]
    fn role_action_table() {
        let table: &[(Action, [bool; 4])] = &[
            (OrgRead, [true, true, true, true]),
            (MembersRead, [true, true, true, true]),
            (DocumentsRead, [true, true, true, true]),
            (FilesRead, [true, true, true, true]),
            (RoomsJoin, [true, true, true, true]),
            (JobsRead, [true, true, true, true]),
            (DocumentsWrite, [true, true, true, false]),
            (FilesWrite, [true, true, true, false]),
            (RoomsSend, [true, true, true, false]),
            (JobsWrite, [true, true, true, false]),
            (OriginProxy, [true, true, true, false]),
            (OrgUpdate, [true, true, false, false]),
            (InvitationsManage, [true, true, false, false]),
            (ApiKeysManage, [true, true, false, false]),
            (AuditRead, [true, true, false, false]),
            (UsageRead, [true, true, false, false]),
            (DocumentsAdmin, [true, true, false, false]),
            (OrgDelete, [true, false, false, false]),
            (BillingManage, [true, false, false, false]),
            (
                InvitationCreate { role: Owner },
                [true, false, false, false],
            ),
            (InvitationCreate { role: Admin }, [true, true, false, false]),
            (
                InvitationCreate { role: Member },
                [true, true, false, false],
            ),
            (
                InvitationCreate { role: Viewer },
                [true, true, false, false],
            ),
            (
                MemberChangeRole {
                    from: Member,
                    to: Admin,
                    is_self: false,
                },
                [true, true, false, false],
            ),
            (
                MemberChangeRole {
                    from: Admin,
                    to: Viewer,
                    is_self: false,
                },
                [true, true, false, false],
            ),
            (
                MemberChangeRole {
                    from: Member,
                    to: Owner,
                    is_self: false,
                },
                [true, false, false, false],
            ),
            (
                MemberChangeRole {
                    from: Owner,
                    to: Admin,
                    is_self: false,
                },
                [true, false, false, false],
            ),
            (
                MemberChangeRole {
                    from: Viewer,
                    to: Member,
                    is_self: true,
                },
                [true, true, false, false],
            ),
            (
                MemberRemove {
                    target: Viewer,
                    is_self: false,
                },
                [true, true, false, false],
            ),
            (
                MemberRemove {
                    target: Admin,
                    is_self: false,
                },
                [true, true, false, false],
            ),
            (
                MemberRemove {
                    target: Owner,
                    is_self: false,
                },
                [true, false, false, false],
            ),
            (
                MemberRemove {
                    target: Viewer,
                    is_self: true,
                },
                [true, true, true, true],
            ),
        ];
        for (action, expected) in table {
            for (role, want) in Role::ALL.iter().zip(expected) {
                assert_eq!(
                    allowed(Principal::User(*role), *action),
                    *want,
                    "{role:?} {action:?}"
                );
            }
        }
    }

    #[test]
    fn api_keys_are_scoped_members_at_most() {
        let all = Scope::ALL;
        let key = Principal::ApiKey(&all);
        for a in [
            DocumentsRead,
            DocumentsWrite,
            FilesRead,
            FilesWrite,
            RoomsJoin,
            RoomsSend,
            JobsWrite,
            JobsRead,
            UsageRead,
            OrgRead,
        ] {
            assert!(allowed(key, a), "{a:?}");
        }
        for a in [
            OrgUpdate,
            OrgDelete,
            MembersRead,
            InvitationsManage,
            ApiKeysManage,
            AuditRead,
            BillingManage,
            DocumentsAdmin,
            InvitationCreate { role: Viewer },
            MemberRemove {
                target: Viewer,
                is_self: false,
            },
            MemberChangeRole {
                from: Viewer,
                to: Member,
                is_self: false,
            },
        ] {
            assert!(!allowed(key, a), "{a:?}");
        }
    }

    #[test]
    fn each_scope_opens_only_its_actions() {
        let cases = [
            (Scope::DocumentsRead, DocumentsRead),
            (Scope::DocumentsWrite, DocumentsWrite),
            (Scope::FilesRead, FilesRead),
            (Scope::FilesWrite, FilesWrite),
            (Scope::RoomsJoin, RoomsJoin),
            (Scope::JobsWrite, JobsWrite),
            (Scope::UsageRead, UsageRead),
        ];
        for (scope, action) in cases {
            let only = [scope];
            assert!(allowed(Principal::ApiKey(&only), action));
            for (other, other_action) in cases {
                if other != scope {
                    assert!(
                        !allowed(Principal::ApiKey(&only), other_action),
                        "{scope:?} opened {other_action:?}"
                    );
                }
            }
        }
        assert!(!allowed(Principal::ApiKey(&[]), DocumentsRead));
    }

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        assert_eq!(Role::parse("root"), None);
        assert!(Owner > Admin && Admin > Member && Member > Viewer);
    }
}
