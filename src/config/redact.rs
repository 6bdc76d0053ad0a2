//! Database URLs in messages without their password.

/// `url` with the password of `scheme://user:password@host` replaced, for
/// error messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://stox:s3cret@db.example:5432/stox"),
            "postgres://stox:***@db.example:5432/stox"
        );
        assert_eq!(
            redact_url("postgres://stox@db/stox"),
            "postgres://stox@db/stox"
        );
        assert_eq!(redact_url("sqlite://stox.db"), "sqlite://stox.db");
    }
}
