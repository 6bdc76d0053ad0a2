//! `--since` values and times in tables: RFC 3339 timestamps and short
//! durations, without a date-time crate (the CLI needs two conversions, both
//! pure and tested here).

/// `--since` as epoch ms: an RFC 3339 time (`2026-05-01T08:00:00Z`,
/// `2026-05-01T10:00:00.250+02:00`) or a duration before `now_ms` made of
/// `<n>s`, `<n>m`, `<n>h`, `<n>d`, `<n>w` parts (`90s`, `1h30m`, `2d`).
pub fn parse_since(text: &str, now_ms: i64) -> Result<i64, String> {
    let text = text.trim();
    if text.len() >= 10 && text.as_bytes()[4] == b'-' {
        return parse_rfc3339(text).ok_or_else(|| {
            format!("{text:?} is not an RFC 3339 time (YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM))")
        });
    }
    parse_duration_ms(text)
        .map(|d| now_ms.saturating_sub(d))
        .ok_or_else(|| {
            format!("{text:?} is neither a duration (30m, 1h, 2d, 1h30m) nor an RFC 3339 time")
        })
}

fn parse_duration_ms(text: &str) -> Option<i64> {
    if text.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut number = String::new();
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            number.push(ch);
            continue;
        }
        let n: i64 = number.parse().ok()?;
        number.clear();
        let unit: i64 = match ch {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 7 * 86_400_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    // A trailing number without a unit is ambiguous: refuse it.
    number.is_empty().then_some(total)
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` → epoch ms.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = &s[start..i.min(start + 3)];
        millis = frac.parse::<i64>().ok()? * 10_i64.pow(3 - frac.len() as u32);
    }
    let offset_min = match s.get(i..)? {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && tz.as_bytes()[3] == b':' => {
            let sign = match tz.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 60 + m)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second.min(59) - offset_min * 60;
    Some(secs * 1_000 + millis)
}

/// Epoch ms → `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds).
pub fn format_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1_000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

/// A duration in ms as `1h02m03s`, `4m05s`, `6s`.
pub fn format_duration(ms: i64) -> String {
    let s = ms.max(0) / 1_000;
    let (h, m, s) = (s / 3_600, s % 3_600 / 60, s % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s:02}s"),
        _ => format!("{h}h{m:02}m{s:02}s"),
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-05-01T08:00:00Z"),
            Some(1_777_622_400_000)
        );
        assert_eq!(
            parse_rfc3339("2026-05-01T10:00:00.25+02:00"),
            Some(1_777_622_400_250)
        );
        assert_eq!(
            parse_rfc3339("2026-05-01t03:30:00.123456-04:30"),
            Some(1_777_622_400_123)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
        for bad in [
            "2026-05-01",
            "2026-05-01T08:00:00",
            "2026-13-01T08:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-05-01T24:00:00Z",
            "2026-05-01T08:00:00.Z",
            "2026-05-01T08:00:00+0200",
            "2026-05-01T08:00:00+02:60",
            "2026-o5-01T08:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations_count_back_from_now() {
        let now = 10_000_000_000;
        assert_eq!(parse_since("30m", now), Ok(now - 1_800_000));
        assert_eq!(parse_since("1h30m", now), Ok(now - 5_400_000));
        assert_eq!(parse_since("2d", now), Ok(now - 172_800_000));
        assert_eq!(parse_since("1w", now), Ok(now - 604_800_000));
        assert_eq!(parse_since(" 45s ", now), Ok(now - 45_000));
        assert_eq!(parse_since("1970-01-01T00:00:01Z", now), Ok(1_000));
        for bad in ["", "5", "1x", "h", "1h5", "-1h", "2026-05-01"] {
            assert!(parse_since(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn utc_formatting_round_trips() {
        for ms in [0, 1_777_622_400_000, 1_709_164_800_000, 951_782_400_000] {
            assert_eq!(parse_rfc3339(&format_utc(ms)), Some(ms));
        }
        assert_eq!(format_utc(1_777_622_400_999), "2026-05-01T08:00:00Z");
        assert_eq!(format_utc(-1_000), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn durations_read_as_clock_time() {
        assert_eq!(format_duration(6_400), "6s");
        assert_eq!(format_duration(245_000), "4m05s");
        assert_eq!(format_duration(3_723_000), "1h02m03s");
        assert_eq!(format_duration(-5), "0s");
    }
}
