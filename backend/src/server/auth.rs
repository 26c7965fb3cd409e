//! Who may do what: tokens, Jupyter's way.
//!
//! procviz starts processes as the user who runs it, so nothing may reach `/ws` (or the page)
//! without a token. At start the server makes a random presenter token (or takes the one
//! given with `--token` / `PROCVIZ_TOKEN`) and prints `http://127.0.0.1:8717/?token=…`; in
//! lecture-hall mode (`--share`) it makes a second, view-only token for students' screens.
//!
//! A request shows its token in one of three ways, read in this order:
//! 1. `Authorization: token …` (scripts);
//! 2. the cookie `procviz-token-PORT` (the page, after the trade below; the port is in the
//!    name because browsers share cookies between the ports of one host);
//! 3. `?token=…` in the URL (the printed URL; `/ws?token=…` for scripts and tests).
//!
//! **The trade.** A page request with a valid `?token=` is answered with a redirect to the
//! same URL without it, setting the cookie (`HttpOnly; SameSite=Strict`): the token leaves the
//! address bar (and so the screenshots, the history and the slides) and no script can read
//! it. A request without a valid token gets 403 and one sentence saying what to open.
//!
//! Tokens are compared in constant time.

use axum::http::{HeaderMap, HeaderValue, Uri, header};
use shared::Role;
use std::fmt;

/// The name of the query parameter and the prefix of the cookie's name.
const TOKEN_PARAM: &str = "token";

/// A secret that grants a [`Role`].
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A random token: 24 bytes from the operating system's generator, as 48 hex digits
    /// (the length of Jupyter's).
    pub fn random() -> Result<Token, getrandom::Error> {
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes)?;
        Ok(Token(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// A token given by the user; refused when it is too short to be a secret or holds
    /// characters that would need escaping in a URL or a cookie.
    pub fn given(text: &str) -> Result<Token, String> {
        if text.len() < 16 {
            return Err(format!(
                "the token must have at least 16 characters (it has {})",
                text.len()
            ));
        }
        if let Some(c) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')))
        {
            return Err(format!(
                "the token may hold letters, digits and - _ . ~ only (not {c:?})"
            ));
        }
        Ok(Token(text.to_string()))
    }

    /// The token's text (for the URL printed in the terminal).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is this token, compared in constant time for a given length.
    fn matches(&self, candidate: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), candidate.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Never printed by accident: the `Debug` of a token hides it.
impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)")
    }
}

/// The tokens of a server and the cookie that carries them.
#[derive(Clone, Debug)]
pub struct Tokens {
    presenter: Token,
    viewer: Option<Token>,
    cookie: String,
}

/// What a request showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// A valid token of this role.
    Valid(Role),
    /// A token that is not one of this server's.
    Wrong,
    /// No token at all.
    Missing,
}

impl Tokens {
    /// The presenter's token and, in lecture-hall mode, the viewers'; `port` names the
    /// cookie.
    pub fn new(presenter: Token, viewer: Option<Token>, port: u16) -> Self {
        Tokens {
            presenter,
            viewer,
            cookie: format!("procviz-token-{port}"),
        }
    }

    /// The role `token` grants, if any.
    pub fn role_of(&self, token: &str) -> Option<Role> {
        if self.presenter.matches(token) {
            Some(Role::Presenter)
        } else if self.viewer.as_ref().is_some_and(|v| v.matches(token)) {
            Some(Role::Viewer)
        } else {
            None
        }
    }

    /// The token shown by a request (header, cookie, then URL), judged.
    pub fn judge(&self, headers: &HeaderMap, uri: &Uri) -> Credentials {
        let shown = from_header(headers)
            .or_else(|| self.cookie_in(headers))
            .or_else(|| from_query(uri));
        match shown {
            None => Credentials::Missing,
            Some(t) => self
                .role_of(&t)
                .map_or(Credentials::Wrong, Credentials::Valid),
        }
    }

    /// The token in the URL alone (the printed URL the page trades), judged; `None` when the
    /// URL has none.
    pub fn judge_url(&self, uri: &Uri) -> Option<Credentials> {
        from_query(uri).map(|t| {
            self.role_of(&t)
                .map_or(Credentials::Wrong, Credentials::Valid)
        })
    }

    /// The `Set-Cookie` value that keeps `role`'s token in the browser: not readable by
    /// scripts, never sent by another site's request, for this server's paths; it lasts as
    /// long as the browser session (a restarted server makes new tokens anyway).
    pub fn set_cookie(&self, role: Role) -> Option<HeaderValue> {
        let token = match role {
            Role::Presenter => &self.presenter,
            Role::Viewer => self.viewer.as_ref()?,
        };
        let cookie = cookie::Cookie::build((self.cookie.as_str(), token.as_str()))
            .http_only(true)
            .same_site(cookie::SameSite::Strict)
            .path("/")
            .build();
        HeaderValue::from_str(&cookie.to_string()).ok()
    }

    fn cookie_in(&self, headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(cookie::Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|c| c.name() == self.cookie)
            .map(|c| c.value().to_string())
    }
}

fn from_header(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("token")
        .then(|| token.trim().to_string())
}

fn from_query(uri: &Uri) -> Option<String> {
    form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(k, _)| k == TOKEN_PARAM)
        .map(|(_, v)| v.into_owned())
}

/// The same path and query without the token (where the trade redirects to).
pub fn without_token(uri: &Uri) -> String {
    let rest: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k != TOKEN_PARAM)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    if rest.is_empty() {
        return uri.path().to_string();
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(rest)
        .finish();
    format!("{}?{query}", uri.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        let t = |s: &str| Token::given(s).unwrap_or_else(|e| panic!("{e}"));
        Tokens::new(
            t("presenter-secret-0123"),
            Some(t("viewer-secret-456789")),
            8717,
        )
    }

    fn judge(headers: &[(&str, &str)], uri: &str) -> Credentials {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            let (Ok(k), Ok(v)) = (k.parse::<header::HeaderName>(), HeaderValue::from_str(v)) else {
                panic!("bad test header {k}: {v}");
            };
            map.append(k, v);
        }
        let uri: Uri = uri.parse().unwrap_or_else(|e| panic!("{uri}: {e}"));
        tokens().judge(&map, &uri)
    }

    #[test]
    fn a_token_is_read_from_the_header_the_cookie_or_the_url() {
        let presenter = Credentials::Valid(Role::Presenter);
        let viewer = Credentials::Valid(Role::Viewer);
        assert_eq!(judge(&[], "/ws"), Credentials::Missing);
        assert_eq!(judge(&[], "/ws?token=presenter-secret-0123"), presenter);
        assert_eq!(judge(&[], "/?a=1&token=viewer-secret-456789"), viewer);
        assert_eq!(
            judge(&[], "/ws?token=presenter-secret-012"),
            Credentials::Wrong
        );
        assert_eq!(
            judge(&[("authorization", "token presenter-secret-0123")], "/ws"),
            presenter
        );
        assert_eq!(
            judge(&[("authorization", "Bearer presenter-secret-0123")], "/ws"),
            Credentials::Missing
        );
        assert_eq!(
            judge(
                &[("cookie", "other=1; procviz-token-8717=viewer-secret-456789")],
                "/"
            ),
            viewer
        );
        // Another port's cookie is another server's.
        assert_eq!(
            judge(
                &[("cookie", "procviz-token-8718=presenter-secret-0123")],
                "/"
            ),
            Credentials::Missing
        );
    }

    #[test]
    fn the_trade_sets_a_strict_http_only_cookie_and_drops_only_the_token() {
        let cookie = tokens()
            .set_cookie(Role::Presenter)
            .map(|v| v.to_str().map(str::to_string).unwrap_or_default());
        let cookie = cookie.unwrap_or_default();
        for part in [
            "procviz-token-8717=presenter-secret-0123",
            "HttpOnly",
            "SameSite=Strict",
            "Path=/",
        ] {
            assert!(cookie.contains(part), "{part} in {cookie}");
        }
        let uri = |s: &str| s.parse::<Uri>().unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(without_token(&uri("/?token=x")), "/");
        assert_eq!(
            without_token(&uri("/?task_ms=300&token=x&tasks=4")),
            "/?task_ms=300&tasks=4"
        );
        let t = tokens();
        assert_eq!(
            t.judge_url(&uri("/?token=presenter-secret-0123")),
            Some(Credentials::Valid(Role::Presenter))
        );
        assert_eq!(t.judge_url(&uri("/?token=x")), Some(Credentials::Wrong));
        assert_eq!(t.judge_url(&uri("/?tokens=x")), None);
    }

    #[test]
    fn a_given_token_must_be_long_and_plain_and_a_random_one_is_fresh() {
        assert!(Token::given("short").is_err());
        assert!(Token::given("has spaces in it, too many").is_err());
        assert!(Token::given("a-long-enough_token.0~").is_ok());
        let (a, b) = (Token::random(), Token::random());
        let (Ok(a), Ok(b)) = (a, b) else {
            panic!("the OS's generator failed");
        };
        assert_eq!(a.as_str().len(), 48);
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "Token(…)", "Debug never shows the secret");
    }
}
