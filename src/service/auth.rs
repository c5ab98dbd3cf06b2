//! Bearer tokens: the secrets (never printed), their constant-time check,
//! and the interceptor that guards a service with one.
use super::error::ServiceError;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tonic::{Request, Status};

/// A bearer token. `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(Arc<str>);

impl Secret {
    /// A token, stripped of surrounding whitespace (token files end with a
    /// newline). `None` when nothing is left.
    pub fn new(token: &str) -> Option<Secret> {
        let token = token.trim();
        (!token.is_empty()).then(|| Secret(token.into()))
    }

    /// The token itself, for the client that sends it (`client::bearer`).
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where the tokens differ and of their
    /// lengths: both sides are hashed to 32 bytes first, then compared with
    /// `subtle`.
    pub fn matches(&self, candidate: &str) -> bool {
        let expected = Sha256::digest(self.0.as_bytes());
        let offered = Sha256::digest(candidate.as_bytes());
        expected.ct_eq(&offered).into()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Which tokens the server requires.
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// Required by the `Admin` service. Without one, admin RPCs are refused.
    pub admin_token: Option<Secret>,
    /// Required by the `Classifier` service when set; otherwise it is open.
    pub client_token: Option<Secret>,
}

/// What to do when no token is configured.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WhenUnset {
    /// Let every request through (classification by default).
    Allow,
    /// Refuse every request with PERMISSION_DENIED (admin: never open).
    Refuse,
}

/// A tonic interceptor that checks `authorization: Bearer <token>`.
#[derive(Debug, Clone)]
pub(crate) struct RequireToken {
    token: Option<Secret>,
    when_unset: WhenUnset,
}

impl RequireToken {
    pub(crate) fn new(token: Option<Secret>, when_unset: WhenUnset) -> Self {
        Self { token, when_unset }
    }

    fn check(&self, authorization: Option<&str>) -> Result<(), ServiceError> {
        let Some(expected) = &self.token else {
            return match self.when_unset {
                WhenUnset::Allow => Ok(()),
                WhenUnset::Refuse => Err(ServiceError::AdminDisabled),
            };
        };
        let offered = authorization
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or(ServiceError::MissingToken)?;
        if expected.matches(offered) {
            Ok(())
        } else {
            Err(ServiceError::WrongToken)
        }
    }
}

impl tonic::service::Interceptor for RequireToken {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        self.check(header)?;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn require(token: &str) -> RequireToken {
        RequireToken::new(Secret::new(token), WhenUnset::Refuse)
    }

    #[test]
    fn secret_matches_only_itself() {
        let secret = Secret::new("s3cret-token\n").expect("not empty");
        assert!(secret.matches("s3cret-token"));
        assert!(!secret.matches("s3cret-tokem"));
        assert!(!secret.matches("s3cret-token-and-more"));
        assert!(!secret.matches(""));
        assert!(Secret::new(" \n").is_none());
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let security = Security {
            admin_token: Secret::new("admin-abc"),
            client_token: Secret::new("client-xyz"),
        };
        let shown = format!("{security:?} {:?}", require("admin-abc"));
        assert!(!shown.contains("abc") && !shown.contains("xyz"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn bearer_header_is_parsed_case_insensitively() {
        let r = require("tok");
        assert_eq!(r.check(Some("Bearer tok")), Ok(()));
        assert_eq!(r.check(Some("bearer tok")), Ok(()));
        assert_eq!(r.check(Some("Bearer nope")), Err(ServiceError::WrongToken));
        assert_eq!(r.check(Some("Basic tok")), Err(ServiceError::MissingToken));
        assert_eq!(r.check(Some("tok")), Err(ServiceError::MissingToken));
        assert_eq!(r.check(None), Err(ServiceError::MissingToken));
    }

    #[test]
    fn unset_token_allows_or_refuses() {
        let open = RequireToken::new(None, WhenUnset::Allow);
        assert_eq!(open.check(None), Ok(()));
        let closed = RequireToken::new(None, WhenUnset::Refuse);
        assert_eq!(
            closed.check(Some("Bearer anything")),
            Err(ServiceError::AdminDisabled)
        );
    }
}
