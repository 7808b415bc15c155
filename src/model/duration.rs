//! Durations as kubectl takes them (Go's `time.ParseDuration`): `0`, `30s`, `2m`,
//! `1h30m`, `1.5h`, `250ms`. A bare integer means seconds, as kubectl's
//! `--request-timeout` accepts. Hand-written because the grammar is kubectl's, not a
//! general human one: `1 day` must be rejected, `1.5h` accepted.

use std::time::Duration;

pub fn parse_kubectl_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    let err = || format!("invalid duration \"{input}\": use a number with a unit, e.g. 0, 30s, 2m, 1h30m");
    if s.is_empty() {
        return Err(err());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u64>().map(Duration::from_secs).map_err(|_| err());
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_len);
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(err());
        }
        let value: f64 = num.parse().map_err(|_| err())?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(err()),
        };
        total += value * scale;
        rest = next;
    }
    if !total.is_finite() || total > 1e12 {
        return Err(err());
    }
    Ok(Duration::from_secs_f64(total))
}

/// kubectl's short human durations for AGE columns (`HumanDuration` in
/// k8s.io/apimachinery/pkg/util/duration): `45s`, `5m30s`, `10m`, `3h20m`, `2d5h`, `400d`, `3y120d`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 2 * 60 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 3 * 60 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_forms() {
        assert_eq!(parse_kubectl_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_kubectl_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_kubectl_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_kubectl_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_kubectl_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_kubectl_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_kubectl_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_kubectl_duration("0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn rejects_what_kubectl_rejects() {
        for bad in [
            "", "s", "-5s", "5x", "1 day", "1d", "5.5.5s", ".s", "abc", "5s3", "1e3s",
        ] {
            assert!(parse_kubectl_duration(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(parse_kubectl_duration("7q").unwrap_err().contains("\"7q\""));
    }

    #[test]
    fn human_durations_match_kubectl() {
        let h = |s| human_duration(Duration::from_secs(s));
        assert_eq!(h(0), "0s");
        assert_eq!(h(119), "119s");
        assert_eq!(h(150), "2m30s");
        assert_eq!(h(600), "10m");
        assert_eq!(h(3 * 3600 + 20 * 60), "3h20m");
        assert_eq!(h(9 * 3600), "9h");
        assert_eq!(h(50 * 3600), "2d2h");
        assert_eq!(h(10 * 86400), "10d");
        assert_eq!(h(3 * 365 * 86400 + 86400), "3y1d");
    }
}
