//! Output: aligned tables for people, JSON for programs, RFC 3339 times.

use std::io::IsTerminal;

use anyhow::Result;
use clap::ValueEnum;
use serde_json::Value;

/// `-o`/`--output`: how objects are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    // Aligned columns for people (the default on a terminal).
    Table,
    // JSON, as the admin API answers (the default when piped).
    Json,
    // YAML: the same data as JSON.
    Yaml,
}

impl Format {
    /// The format asked for, else table on a terminal and JSON otherwise.
    #[must_use]
    pub fn or_default(asked: Option<Self>) -> Self {
        asked.unwrap_or_else(|| if std::io::stdout().is_terminal() { Self::Table } else { Self::Json })
    }

    /// JSON or YAML: data for programs rather than a table.
    #[must_use]
    pub fn is_data(self) -> bool {
        self != Self::Table
    }
}

/// Prints a value as JSON (pretty) or YAML; a table asks for JSON here.
///
/// # Errors
/// Never in practice (serialising a `Value`).
pub fn data(v: &Value, f: Format) -> Result<()> {
    if f == Format::Yaml {
        print!("{}", serde_yaml_ng::to_string(v)?);
        return Ok(());
    }
    json(v)
}

/// Prints a JSON value, pretty.
///
/// # Errors
/// Never in practice (serialising a `Value`).
pub fn json(v: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// A table with a header row; columns padded to the widest cell.
#[derive(Debug)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Self { headers: headers.iter().map(|h| (*h).to_owned()).collect(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    #[must_use]
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(c.chars().count());
                }
            }
        }
        let mut out = String::new();
        for r in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, c) in r.iter().enumerate() {
                let w = widths.get(i).copied().unwrap_or(0);
                line.push_str(c);
                line.extend(std::iter::repeat_n(' ', w.saturating_sub(c.chars().count()) + 3));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    pub fn print(&self) {
        print!("{}", self.render());
    }
}

/// `key  value` lines, keys padded.
#[must_use]
pub fn key_values(pairs: &[(String, String)]) -> String {
    let w = pairs.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    pairs.iter().map(|(k, v)| format!("{k:<w$}   {v}\n")).collect::<String>()
}

/// Every top-level field of an object as `key  value` lines, times as dates.
#[must_use]
pub fn object_lines(v: &Value) -> String {
    let Some(o) = v.as_object() else { return cell(v) };
    let pairs: Vec<(String, String)> = o
        .iter()
        .map(|(k, v)| {
            let shown = if k.ends_with("_at") { time(v) } else { cell(v) };
            (k.clone(), shown)
        })
        .collect();
    key_values(&pairs)
}

/// A JSON value as a table cell: strings bare, lists comma-joined, `-` for none.
#[must_use]
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) if s.is_empty() => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "-".into(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(","),
        Value::Object(o) if o.is_empty() => "-".into(),
        other => other.to_string(),
    }
}

/// Unix seconds as RFC 3339 UTC, `-` for null.
#[must_use]
pub fn time(v: &Value) -> String {
    v.as_i64().map_or_else(|| cell(v), rfc3339)
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
#[must_use]
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
#[must_use]
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) to days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
#[must_use]
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A point in time as Unix seconds: `2025-01-31` (midnight UTC),
/// `2025-01-31T12:00:00Z` (or with an offset, `+02:00`), Unix seconds, or a
/// duration before `now` (`30m`, `24h`, `7d`).
///
/// # Errors
/// For anything else.
pub fn parse_time(s: &str, now: i64) -> Result<i64, String> {
    let s = s.trim();
    let bad = || {
        format!(
            "invalid time {s:?}: use a date (2025-01-31), a time (2025-01-31T12:00:00Z), Unix seconds or a duration ago (24h, 7d)"
        )
    };
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    if s.ends_with(['s', 'm', 'h', 'd']) && s.starts_with(|c: char| c.is_ascii_digit()) {
        let ago = parse_duration(s).map_err(|_| bad())?;
        return i64::try_from(ago).ok().and_then(|a| now.checked_sub(a)).ok_or_else(bad);
    }
    let (date, rest) = s.split_at(s.find(['T', 't', ' ']).unwrap_or(s.len()));
    let num = |t: &str| t.parse::<i64>().map_err(|_| bad());
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts.as_slice() else { return Err(bad()) };
    let (y, m, d) = (num(y)?, num(m)?, num(d)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || y < 0 {
        return Err(bad());
    }
    let day = days_from_civil(y, m, d) * 86_400;
    if rest.is_empty() {
        return Ok(day);
    }
    let rest = &rest[1..];
    // The offset: `Z`, or `+hh:mm` / `-hh:mm` after the clock time.
    let (clock, offset) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (h, m) = rest[i + 1..].split_once(':').ok_or_else(bad)?;
        let sign = if rest[i..].starts_with('-') { -1 } else { 1 };
        (&rest[..i], sign * (num(h)? * 3600 + num(m)? * 60))
    } else {
        return Err(bad());
    };
    let clock = clock.split('.').next().unwrap_or(clock);
    let hms: Vec<&str> = clock.split(':').collect();
    let (h, mi, sec) = match hms.as_slice() {
        [h, m] => (num(h)?, num(m)?, 0),
        [h, m, s] => (num(h)?, num(m)?, num(s)?),
        _ => return Err(bad()),
    };
    if h > 23 || mi > 59 || sec > 60 {
        return Err(bad());
    }
    Ok(day + h * 3600 + mi * 60 + sec - offset)
}

/// A duration: `3600`, `90s`, `30m`, `24h`, `7d`, or combinations (`1h30m`).
///
/// # Errors
/// For anything else.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let bad = || format!("invalid duration {s:?}: use seconds or a number with s, m, h or d (e.g. 24h, 30m, 0)");
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    let (mut total, mut num) = (0u64, String::new());
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = num.parse().map_err(|_| bad())?;
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
        num.clear();
    }
    if num.is_empty() { Ok(total) } else { Err(bad()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(4_102_444_800), "2100-01-01T00:00:00Z");
        assert_eq!(time(&Value::Null), "-");
    }

    #[test]
    fn times() {
        let now = 1_700_000_000;
        assert_eq!(parse_time("2023-11-14", now), Ok(1_699_920_000));
        assert_eq!(parse_time("2023-11-14T22:13:20Z", now), Ok(1_700_000_000));
        assert_eq!(parse_time("2023-11-15T00:13:20+02:00", now), Ok(1_700_000_000));
        assert_eq!(parse_time("2023-11-14T17:13:20.5-05:00", now), Ok(1_700_000_000));
        assert_eq!(parse_time("2023-11-14T22:13Z", now), Ok(1_699_999_980));
        assert_eq!(parse_time("1700000000", now), Ok(1_700_000_000));
        assert_eq!(parse_time("24h", now), Ok(now - 86_400));
        assert_eq!(parse_time("7d", now), Ok(now - 604_800));
        for bad in ["", "yesterday", "2023-13-01", "2023-11-14T25:00:00Z", "2023-11-14T10:00:00", "1x"] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
        for days in [-719_468, -1, 0, 11_016, 19_675, 47_482] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("3600"), Ok(3600));
        assert_eq!(parse_duration("24h"), Ok(86_400));
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("45s"), Ok(45));
        for bad in ["", "h", "1x", "1h30", "-5", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn table_alignment() {
        let mut t = Table::new(&["NAME", "ID"]);
        t.row(vec!["Billing service".into(), "b".into()]);
        t.row(vec!["x".into(), "long-id".into()]);
        assert_eq!(t.render(), "NAME              ID\nBilling service   b\nx                 long-id\n");
    }

    #[test]
    fn cells() {
        assert_eq!(cell(&json!(["a", "b"])), "a,b");
        assert_eq!(cell(&json!([])), "-");
        assert_eq!(cell(&json!(null)), "-");
        assert_eq!(cell(&json!(3)), "3");
        assert_eq!(
            object_lines(&json!({"a": 1, "created_at": 0})),
            "a            1\ncreated_at   1970-01-01T00:00:00Z\n"
        );
    }
}
