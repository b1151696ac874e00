//! Who may do what: `Action::allowed(principal)` for the role checks, `Audience::of` for what a
//! reader may see.

use aftercare_platform::auth::{Principal, Role};

/// What a caller wants to do, as far as roles decide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Write drafts: create articles and versions, edit metadata, submit, delete drafts.
    Author,
    /// Approve or reject a review round.
    Review,
    /// Publish or archive an article.
    Publish,
    /// Read staff views: lists of articles, versions, ratings, content gaps.
    ReadStaff,
    /// Create, change and delete categories.
    ManageCategories,
    /// Resolve or dismiss content gaps.
    ManageGaps,
    /// Read statistics.
    Stats,
    /// Read live articles: view, search, suggest, rate.
    Read,
}

impl Action {
    fn roles(self) -> &'static [Role] {
        match self {
            Self::Author => &[
                Role::Agent,
                Role::Specialist,
                Role::Trainer,
                Role::Lead,
                Role::Admin,
            ],
            Self::Review => &[Role::Lead, Role::Trainer, Role::Admin],
            Self::Publish => &[Role::Admin],
            Self::ReadStaff => &[
                Role::Agent,
                Role::Specialist,
                Role::Trainer,
                Role::Lead,
                Role::Analyst,
                Role::Admin,
            ],
            Self::ManageCategories => &[Role::Lead, Role::Trainer, Role::Admin],
            Self::ManageGaps => &[
                Role::Agent,
                Role::Specialist,
                Role::Trainer,
                Role::Lead,
                Role::Admin,
            ],
            Self::Stats => &[Role::Analyst, Role::Lead, Role::Trainer, Role::Admin],
            Self::Read => &[
                Role::Customer,
                Role::Agent,
                Role::Specialist,
                Role::Trainer,
                Role::Lead,
                Role::Analyst,
                Role::Admin,
                Role::Integration,
                Role::Service,
            ],
        }
    }

    /// `Ok` when `principal` has a role that may do this, else why not.
    pub fn allowed(self, principal: &Principal) -> Result<(), String> {
        if principal.has_any_role(self.roles()) {
            return Ok(());
        }
        Err(match self {
            Self::Author => {
                "writing articles needs an author role (agent, specialist, trainer, lead, admin)"
                    .into()
            }
            Self::Review => "reviewing needs the reviewer role (lead, trainer, admin)".into(),
            Self::Publish => "publishing and archiving need the admin role".into(),
            Self::ReadStaff => "this needs a staff role".into(),
            Self::ManageCategories => "categories are managed by leads, trainers and admins".into(),
            Self::ManageGaps => "content gaps are handled by staff authors".into(),
            Self::Stats => "statistics need the analyst, lead, trainer or admin role".into(),
            Self::Read => "no role that may read the knowledge base".into(),
        })
    }
}

/// What a reader may see of the knowledge base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Staff: internal articles too, and previews of unpublished ones.
    Staff,
    /// Customers, anonymous portal readers, integrations and services: live public articles
    /// only. A service principal alone never sees more than the public.
    Public,
}

impl Audience {
    /// The audience of `principal`.
    pub fn of(principal: &Principal) -> Self {
        if principal.is_staff() {
            Self::Staff
        } else {
            Self::Public
        }
    }

    /// True when internal articles may be shown.
    pub fn sees_internal(self) -> bool {
        self == Self::Staff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(roles: &[Role]) -> Principal {
        Principal {
            subject: "agents/a".into(),
            roles: roles.to_vec(),
            region: None,
            customer: None,
            scopes: Vec::new(),
            display_name: None,
            via: None,
        }
    }

    #[test]
    fn authors_write_reviewers_review_admins_publish() {
        assert!(Action::Author.allowed(&principal(&[Role::Agent])).is_ok());
        assert!(
            Action::Author
                .allowed(&principal(&[Role::Customer]))
                .is_err()
        );
        assert!(Action::Review.allowed(&principal(&[Role::Agent])).is_err());
        assert!(Action::Review.allowed(&principal(&[Role::Trainer])).is_ok());
        assert!(Action::Publish.allowed(&principal(&[Role::Lead])).is_err());
        assert!(Action::Publish.allowed(&principal(&[Role::Admin])).is_ok());
    }

    #[test]
    fn customers_services_and_integrations_see_only_the_public() {
        assert_eq!(
            Audience::of(&principal(&[Role::Customer])),
            Audience::Public
        );
        assert_eq!(Audience::of(&principal(&[Role::Service])), Audience::Public);
        assert_eq!(
            Audience::of(&principal(&[Role::Integration])),
            Audience::Public
        );
        assert_eq!(Audience::of(&principal(&[Role::Agent])), Audience::Staff);
    }
}
