//! The verified principal: who is calling, as the gateway authenticated them.
//!
//! The gateway verifies a caller's credentials (JWT or API key) and passes the principal to
//! the services in two metadata entries: `x-aftercare-principal` (the principal as base64url
//! JSON, with an expiry) and `x-aftercare-principal-sig` (an HMAC-SHA256 of that value under
//! the secret the gateway and the services share, `auth.principal_secret`). A service accepts
//! a principal only with a valid, unexpired signature, so a client that reaches a service
//! directly cannot forge one. Services then authorise per resource (a customer sees only their
//! own tickets).
//!
//! Trust model. A signed principal is bound to its audience, the one service it was signed
//! for (`tickets`), and lives [`PRINCIPAL_TTL`] (30 s): a principal captured on its way to
//! one service is refused by every other, and is useless soon after. The secret is shared by
//! the gateway and every service, so each of them can sign for any other: a compromised
//! service process is trusted like the gateway. The pod network is expected to be private
//! and encrypted (TLS or a service mesh with mTLS); signing proves who asked, it does not hide
//! what is sent.
//!
//! On behalf of. A service that calls another for a user passes that user, not itself
//! ([`Principal::on_behalf_of`]): the callee authorises the user, and sees in
//! [`Principal::via`] which service relayed the call. A service's own principal
//! ([`Principal::service`]) is for the platform's background work (sweeps, event consumers),
//! never for a request a user made.

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
/// How long a signed principal is accepted after signing: long enough for one call and its
/// retries, short enough that a captured one is soon useless.
pub const PRINCIPAL_TTL: Duration = Duration::from_secs(30);

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
    /// The service that relays this principal's request to another service (`tickets`), when
    /// the call is made on the principal's behalf rather than by the principal itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
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
            via: None,
        }
    }

    /// `user`, relayed by `service` to another service: the callee authorises `user`.
    pub fn on_behalf_of(user: &Principal, service: &str) -> Self {
        Self {
            via: Some(service.to_owned()),
            ..user.clone()
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
    /// The service the principal was signed for.
    aud: String,
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

    /// A verifier with a random 256-bit secret from the operating system's generator, for one
    /// process that runs both the gateway and the services (`aftercare up`) and for tests.
    pub fn random() -> Self {
        Self::new(&random_secret())
    }

    fn mac(&self, value: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.key.clone();
        mac.update(value);
        mac
    }

    /// Adds `principal`, signed for the service `audience` (`tickets`), to `metadata`
    /// (replacing any principal already there).
    pub fn attach(&self, principal: &Principal, audience: &str, metadata: &mut MetadataMap) {
        let exp = unix_now() + PRINCIPAL_TTL.as_secs();
        let claims = Claims {
            principal: principal.clone(),
            aud: audience.to_owned(),
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

    /// The verified principal of a request to the service `audience`: `UNAUTHENTICATED` when
    /// there is none, when its signature does not verify, when it was signed for another
    /// service, or when it has expired.
    pub fn verify(&self, metadata: &MetadataMap, audience: &str) -> Result<Principal, Status> {
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
        if claims.aud != audience {
            return Err(Status::unauthenticated(
                "the principal was signed for another service",
            ));
        }
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

/// 32 bytes from the operating system's generator (256 bits of entropy).
pub fn random_secret() -> [u8; 32] {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).expect("the operating system's random generator");
    secret
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
            via: None,
        }
    }

    #[test]
    fn a_signed_principal_verifies() {
        let verifier = PrincipalVerifier::new(b"0123456789abcdef0123456789abcdef");
        let mut metadata = MetadataMap::new();
        verifier.attach(&agent(), "tickets", &mut metadata);
        assert_eq!(verifier.verify(&metadata, "tickets").unwrap(), agent());
    }

    #[test]
    fn a_missing_principal_is_unauthenticated() {
        let verifier = PrincipalVerifier::random();
        let status = verifier.verify(&MetadataMap::new(), "tickets").unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn a_principal_signed_with_another_secret_is_refused() {
        let gateway = PrincipalVerifier::new(b"the real secret");
        let forger = PrincipalVerifier::new(b"a guessed secret");
        let mut metadata = MetadataMap::new();
        forger.attach(&agent(), "tickets", &mut metadata);
        let status = gateway.verify(&metadata, "tickets").unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn a_tampered_principal_is_refused() {
        let verifier = PrincipalVerifier::random();
        let mut metadata = MetadataMap::new();
        verifier.attach(&agent(), "tickets", &mut metadata);
        let mut admin = agent();
        admin.roles = vec![Role::Admin];
        let forged = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Claims {
                principal: admin,
                aud: "tickets".into(),
                exp: unix_now() + 60,
            })
            .unwrap(),
        );
        metadata.insert(PRINCIPAL_HEADER, MetadataValue::try_from(forged).unwrap());
        assert_eq!(
            verifier.verify(&metadata, "tickets").unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
    }

    #[test]
    fn a_principal_signed_for_one_service_is_refused_by_another() {
        let verifier = PrincipalVerifier::random();
        let mut metadata = MetadataMap::new();
        verifier.attach(&agent(), "tickets", &mut metadata);
        let status = verifier.verify(&metadata, "customers").unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
        assert!(status.message().contains("another service"));
    }

    #[test]
    fn an_expired_principal_is_refused() {
        let verifier = PrincipalVerifier::random();
        let value = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Claims {
                principal: agent(),
                aud: "tickets".into(),
                exp: unix_now() - 1,
            })
            .unwrap(),
        );
        let signature =
            URL_SAFE_NO_PAD.encode(verifier.mac(value.as_bytes()).finalize().into_bytes());
        let mut metadata = MetadataMap::new();
        metadata.insert(PRINCIPAL_HEADER, MetadataValue::try_from(value).unwrap());
        metadata.insert(
            SIGNATURE_HEADER,
            MetadataValue::try_from(signature).unwrap(),
        );
        let status = verifier.verify(&metadata, "tickets").unwrap_err();
        assert!(status.message().contains("expired"));
    }

    #[test]
    fn random_secrets_differ_and_use_every_bit() {
        let (a, b) = (random_secret(), random_secret());
        assert_ne!(a, b);
        // 64 random bytes have every bit position set somewhere, unlike bytes with fixed bits.
        let ored = a.iter().chain(b.iter()).fold(0u8, |acc, byte| acc | byte);
        assert_eq!(ored, 0xff);
    }

    #[test]
    fn on_behalf_of_keeps_the_user_and_names_the_relay() {
        let relayed = Principal::on_behalf_of(&agent(), "tickets");
        assert_eq!(relayed.subject, "agents/1");
        assert_eq!(relayed.roles, vec![Role::Agent]);
        assert_eq!(relayed.via.as_deref(), Some("tickets"));
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
            via: None,
        };
        assert!(customer.is_customer_only());
        assert!(!customer.is_staff());
        assert!(agent().is_staff());
        assert!(!agent().sees_all_regions());
        assert!(Principal::service("tickets").sees_all_regions());
        assert!(Principal::service("tickets").has_scope("customers.write"));
    }
}
