//! Durations as people write and read them: `30d`, `1h30m`, `15 min`,
//! `90s` in the client form; `1 h 30 min` on the details page. A bare
//! number is seconds, so values copied from the API still work.

/// The units, largest first: seconds per unit, the compact and the shown name.
const UNITS: [(u32, &str, &str); 4] = [(86_400, "d", "d"), (3600, "h", "h"), (60, "m", "min"), (1, "s", "s")];

/// The message for input that is not a duration.
pub(crate) const BAD: &str = "enter a duration such as 90s, 15m, 1h, 1h30m or 30d";

/// Seconds per unit for the spellings accepted (case already folded).
fn unit(word: &str) -> Option<u32> {
    Some(match word {
        "d" | "day" | "days" => 86_400,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        _ => return None,
    })
}

/// Parses a duration: empty is `None` (inherit the default); otherwise
/// one or more `number unit` parts (`1h30m`, `1 h 30 min`, `2 Days`), or a
/// bare number of seconds. Spaces and case do not matter.
///
/// # Errors
/// [`BAD`] for anything else, including a value over `u32::MAX` seconds.
pub(crate) fn parse(s: &str) -> Result<Option<u32>, &'static str> {
    let s = s.trim().to_ascii_lowercase();
    if s.is_empty() {
        return Ok(None);
    }
    let mut chars = s.chars().filter(|c| !c.is_whitespace()).peekable();
    let mut total: u64 = 0;
    let mut parts = 0;
    while chars.peek().is_some() {
        let mut digits = String::new();
        while let Some(c) = chars.next_if(char::is_ascii_digit) {
            digits.push(c);
        }
        let mut word = String::new();
        while let Some(c) = chars.next_if(char::is_ascii_alphabetic) {
            word.push(c);
        }
        if digits.is_empty() || digits.len() > 10 {
            return Err(BAD);
        }
        let n: u64 = digits.parse().map_err(|_| BAD)?;
        let per = if word.is_empty() {
            // A bare number only on its own: `1h30` is ambiguous.
            if parts > 0 || chars.peek().is_some() {
                return Err(BAD);
            }
            1
        } else {
            unit(&word).ok_or(BAD)?
        };
        total = total.checked_add(n * u64::from(per)).ok_or(BAD)?;
        parts += 1;
    }
    u32::try_from(total).map(Some).map_err(|_| BAD)
}

/// The compact form for an input box: `1h30m`, `30d`, `90s` → `1m30s`.
pub(crate) fn compact(s: u32) -> String {
    if s == 0 {
        return "0s".into();
    }
    split(s).map(|(n, c, _)| format!("{n}{c}")).collect()
}

/// The form for reading: `1 h 30 min`, `30 d`, `0 s`.
pub(crate) fn human(s: u32) -> String {
    if s == 0 {
        return "0 s".into();
    }
    split(s).map(|(n, _, h)| format!("{n}\u{a0}{h}")).collect::<Vec<_>>().join(" ")
}

fn split(s: u32) -> impl Iterator<Item = (u32, &'static str, &'static str)> {
    let mut rest = s;
    UNITS.into_iter().filter_map(move |(per, c, h)| {
        let n = rest / per;
        rest %= per;
        (n > 0).then_some((n, c, h))
    })
}

#[cfg(test)]
mod tests {
    use super::{BAD, compact, human, parse};

    #[test]
    fn durations_parse_tolerantly() {
        for (text, secs) in [
            ("30d", 2_592_000),
            ("1h", 3600),
            ("15m", 900),
            ("90s", 90),
            ("1h30m", 5400),
            (" 1 H 30 Min ", 5400),
            ("2 days", 172_800),
            ("1h 0m 5s", 3605),
            ("3600", 3600),
            ("  45 ", 45),
            ("1 hour 1 minute 1 second", 3661),
        ] {
            assert_eq!(parse(text), Ok(Some(secs)), "{text}");
        }
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("   "), Ok(None));
    }

    #[test]
    fn bad_durations_are_refused_with_a_message() {
        for text in
            ["h", "1x", "1h30", "-5m", "1.5h", "abc", "99999999999s", "50000d", "1h+5m", "1 fortnight", "m5", "٣h"]
        {
            assert_eq!(parse(text), Err(BAD), "{text}");
        }
    }

    #[test]
    fn durations_show_in_units() {
        assert_eq!(human(5400), "1\u{a0}h 30\u{a0}min");
        assert_eq!(human(2_592_000), "30\u{a0}d");
        assert_eq!(human(90), "1\u{a0}min 30\u{a0}s");
        assert_eq!(human(0), "0 s");
        assert_eq!(compact(5400), "1h30m");
        assert_eq!(compact(2_592_000), "30d");
        assert_eq!(compact(3661), "1h1m1s");
        assert_eq!(compact(0), "0s");
        for s in [0, 1, 59, 60, 3599, 86_401, 7_776_000] {
            assert_eq!(parse(&compact(s)), Ok(Some(s)));
        }
    }
}
