//! The verified principal: who is calling, as the gateway authenticated them.
//!
//! The gateway verifies a caller's credentials (JWT or API key) and passes the principal to
//! the services in two metadata entries: `x-aftercare-principal` (the principal as base64url
//! JSON, with an expiry) and `x-aftercare-principal-sig` (an HMAC-SHA256 of that value under
//! the secret the gateway and the services share, `auth.principal_secret`). A service accepts
//! a principal only with a valid, unexpired signature, so a client that reaches a service
//! directly cannot forge one. Services then authorise per resource (a customer sees only their
//! own tickets).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tonic::Status;
use tonic::metadata::{MetadataMap, MetadataValue};

/// Metadata key carrying the encoded principal.
pub const PRINCIPAL_HEADER: &str = "x-aftercare-principal";
/// Metadata key carrying its signature.
pub const SIGNATURE_HEADER: &str = "x-aftercare-principal-sig";
/// How long a signed principal is accepted after signing.
pub const PRINCIPAL_TTL: Duration = Duration::from_secs(300);

/// What a caller is, for authorisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An end customer: their own tickets, feedback and profile only.
    Customer,
    /// A front-line agent: their region's queues.
    Agent,
    /// A technical specialist (escalation tier 2).
    Specialist,
    /// A team lead: every queue, merges, escalations.
    Lead,
    /// A trainer or quality reviewer.
    Trainer,
    /// An analyst: read-only statistics.
    Analyst,
    /// An administrator: everything.
    Admin,
    /// An enterprise system calling with an API key, limited by its scopes.
    Integration,
    /// Another Aftercare service calling on the platform's behalf.
    Service,
}

impl Role {
    /// The role's name as used in tokens and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Agent => "agent",
            Self::Specialist => "specialist",
            Self::Lead => "lead",
            Self::Trainer => "trainer",
            Self::Analyst => "analyst",
            Self::Admin => "admin",
            Self::Integration => "integration",
            Self::Service => "service",
        }
    }
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// A stable id of the caller: an agent id, a customer resource name, an API key id or a
    /// service name.
    pub subject: String,
    /// The caller's roles.
    pub roles: Vec<Role>,
    /// The region the caller works in (`eu-west`), for staff limited to their region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// For a customer, their resource name (`customers/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// For an integration, what it may do (`tickets.write`, `customers.read`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// A display name for history entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

impl Principal {
    /// Another Aftercare service acting on the platform's behalf.
    pub fn service(name: &str) -> Self {
        Self {
            subject: format!("services/{name}"),
            roles: vec![Role::Service],
            region: None,
            customer: None,
            scopes: Vec::new(),
            display_name: Some(name.to_owned()),
        }
    }

    /// True when the caller has `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// True when the caller has any of `roles`.
    pub fn has_any_role(&self, roles: &[Role]) -> bool {
        roles.iter().any(|role| self.has_role(*role))
    }

    /// True for the platform's own staff roles (not customers, integrations or services).
    pub fn is_staff(&self) -> bool {
        self.has_any_role(&[
            Role::Agent,
            Role::Specialist,
            Role::Lead,
            Role::Trainer,
            Role::Analyst,
            Role::Admin,
        ])
    }

    /// True when the caller sees every region: leads, admins, analysts, services.
    pub fn sees_all_regions(&self) -> bool {
        self.has_any_role(&[Role::Lead, Role::Admin, Role::Analyst, Role::Service])
    }

    /// True when the caller holds `scope` (integrations) — services and admins hold all.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.has_any_role(&[Role::Service, Role::Admin]) || self.scopes.iter().any(|s| s == scope)
    }

    /// True when the caller is a customer (and nothing more).
    pub fn is_customer_only(&self) -> bool {
        self.roles.iter().all(|role| *role == Role::Customer) && !self.roles.is_empty()
    }
}

#[derive(Serialize, Deserialize)]
struct Claims {
    #[serde(flatten)]
    principal: Principal,
    /// Expiry, Unix seconds.
    exp: u64,
}

/// Signs principals (the gateway) and verifies them (the services) with the shared secret.
#[derive(Clone)]
pub struct PrincipalVerifier {
    key: Hmac<Sha256>,
}

impl std::fmt::Debug for PrincipalVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrincipalVerifier(***)")
    }
}

impl PrincipalVerifier {
    /// A verifier for `secret` (at least 32 bytes is advised).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: Hmac::<Sha256>::new_from_slice(secret).expect("hmac accepts keys of any length"),
        }
    }

    /// A verifier with a random secret, for one process that runs both the gateway and the
    /// services (`aftercare up`) and for tests.
    pub fn random() -> Self {
        let secret: [u8; 32] = std::array::from_fn(|_| rand_byte());
        Self::new(&secret)
    }

    fn mac(&self, value: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.key.clone();
        mac.update(value);
        mac
    }

    /// Adds `principal`, signed, to `metadata` (replacing any principal already there).
    pub fn attach(&self, principal: &Principal, metadata: &mut MetadataMap) {
        let exp = unix_now() + PRINCIPAL_TTL.as_secs();
        let claims = Claims {
            principal: principal.clone(),
            exp,
        };
        let json = serde_json::to_vec(&claims).expect("a principal serialises");
        let value = URL_SAFE_NO_PAD.encode(json);
        let signature = URL_SAFE_NO_PAD.encode(self.mac(value.as_bytes()).finalize().into_bytes());
        metadata.insert(
            PRINCIPAL_HEADER,
            MetadataValue::try_from(value).expect("base64 is valid metadata"),
        );
        metadata.insert(
            SIGNATURE_HEADER,
            MetadataValue::try_from(signature).expect("base64 is valid metadata"),
        );
    }

    /// The verified principal of a request: `UNAUTHENTICATED` when there is none, when its
    /// signature does not verify, or when it has expired.
    pub fn verify(&self, metadata: &MetadataMap) -> Result<Principal, Status> {
        let value = metadata
            .get(PRINCIPAL_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Status::unauthenticated("no authenticated principal: call through the gateway")
            })?;
        let signature = metadata
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .ok_or_else(|| Status::unauthenticated("the principal is not signed"))?;
        self.mac(value.as_bytes())
            .verify_slice(&signature)
            .map_err(|_| Status::unauthenticated("the principal's signature does not verify"))?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(value)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| Status::unauthenticated("the principal cannot be decoded"))?;
        if claims.exp < unix_now() {
            return Err(Status::unauthenticated("the principal has expired"));
        }
        if claims.principal.roles.is_empty() {
            return Err(Status::unauthenticated("the principal has no role"));
        }
        Ok(claims.principal)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn rand_byte() -> u8 {
    // UUIDv4 draws from the OS generator; one byte at a time is plenty for a 32-byte key.
    uuid::Uuid::new_v4().as_bytes()[6]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> Principal {
        Principal {
            subject: "agents/1".into(),
            roles: vec![Role::Agent],
            region: Some("eu-west".into()),
            customer: None,
            scopes: vec![],
            display_name: Some("Ada".into()),
        }
    }

    #[test]
    fn a_signed_principal_verifies() {
        let verifier = PrincipalVerifier::new(b"0123456789abcdef0123456789abcdef");
        let mut metadata = MetadataMap::new();
        verifier.attach(&agent(), &mut metadata);
        assert_eq!(verifier.verify(&metadata).unwrap(), agent());
    }

    #[test]
    fn a_missing_principal_is_unauthenticated() {
        let verifier = PrincipalVerifier::random();
        let status = verifier.verify(&MetadataMap::new()).unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn a_principal_signed_with_another_secret_is_refused() {
        let gateway = PrincipalVerifier::new(b"the real secret");
        let forger = PrincipalVerifier::new(b"a guessed secret");
        let mut metadata = MetadataMap::new();
        forger.attach(&agent(), &mut metadata);
        let status = gateway.verify(&metadata).unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn a_tampered_principal_is_refused() {
        let verifier = PrincipalVerifier::random();
        let mut metadata = MetadataMap::new();
        verifier.attach(&agent(), &mut metadata);
        let mut admin = agent();
        admin.roles = vec![Role::Admin];
        let forged = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Claims {
                principal: admin,
                exp: unix_now() + 60,
            })
            .unwrap(),
        );
        metadata.insert(PRINCIPAL_HEADER, MetadataValue::try_from(forged).unwrap());
        assert_eq!(
            verifier.verify(&metadata).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
    }

    #[test]
    fn role_helpers_describe_reach() {
        let customer = Principal {
            subject: "customers/9".into(),
            roles: vec![Role::Customer],
            region: None,
            customer: Some("customers/9".into()),
            scopes: vec![],
            display_name: None,
        };
        assert!(customer.is_customer_only());
        assert!(!customer.is_staff());
        assert!(agent().is_staff());
        assert!(!agent().sees_all_regions());
        assert!(Principal::service("tickets").sees_all_regions());
        assert!(Principal::service("tickets").has_scope("customers.write"));
    }
}
