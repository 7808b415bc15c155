//! Kubernetes resource quantities (`20Gi`, `1.5G`, `500Mi`, `1e3`, `100m`) as bytes,
//! after k8s.io/apimachinery/pkg/api/resource/quantity.go: binary suffixes (`Ki` … `Ei`,
//! powers of 1024), decimal SI suffixes (`n`, `u`, `m`, ``, `k`, `M`, `G`, `T`, `P`, `E`,
//! powers of 1000) and decimal exponents (`e3`, `E-2`). Like `Quantity.Value()`, a
//! fractional byte count rounds up.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// The `storage` entry of a resource list (requests, capacity), as written.
pub fn storage(m: Option<&BTreeMap<String, Quantity>>) -> Option<String> {
    m.and_then(|m| m.get("storage")).map(|q| q.0.clone())
}

/// A claim's `spec.resources.requests.storage`, as written.
pub fn claim_request(c: &PersistentVolumeClaim) -> Option<String> {
    storage(
        c.spec
            .as_ref()
            .and_then(|s| s.resources.as_ref())
            .and_then(|r| r.requests.as_ref()),
    )
}

/// A claim's `status.capacity.storage`, as written.
pub fn claim_capacity(c: &PersistentVolumeClaim) -> Option<String> {
    storage(c.status.as_ref().and_then(|s| s.capacity.as_ref()))
}

/// The value of `q` in whole bytes (rounded up), or `None` when it is not a quantity.
pub fn parse_bytes(q: &str) -> Option<u128> {
    let q = q.trim();
    let (sign, rest) = match q.as_bytes().first()? {
        b'+' => (1, &q[1..]),
        b'-' => (-1, &q[1..]),
        _ => (1, q),
    };
    let num_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (num, suffix) = rest.split_at(num_end);
    if num.is_empty() || num == "." || num.matches('.').count() > 1 {
        return None;
    }
    let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
    // mantissa * 10^-scale
    let digits = format!("{int_part}{frac_part}");
    let mantissa: u128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
    let scale = frac_part.len() as i32;
    // value = mantissa * 10^(exp10 - scale) * 2^exp2
    let (exp10, exp2): (i32, u32) = match suffix {
        "" => (0, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        s if s.starts_with(['e', 'E']) && s.len() > 1 => {
            let e: i32 = s[1..].parse().ok()?;
            if !(-30..=30).contains(&e) {
                return None;
            }
            (e, 0)
        }
        _ => return None,
    };
    if sign < 0 && mantissa != 0 {
        return None; // capacities are never negative
    }
    let mut value = mantissa.checked_mul(1u128.checked_shl(exp2)?)?;
    let e = exp10 - scale;
    if e >= 0 {
        value = value.checked_mul(10u128.checked_pow(e as u32)?)?;
    } else {
        let d = 10u128.checked_pow((-e) as u32)?;
        value = value.div_ceil(d);
    }
    Some(value)
}

/// Bytes for people: the largest binary unit that keeps it ≥ 1, exact when it divides
/// (`20Gi`, `1536Mi` is `1.5Gi`), else one decimal (`1.3Gi`); under 1Ki as plain bytes.
pub fn format_bytes(bytes: u128) -> String {
    const UNITS: [(&str, u32); 6] = [("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)];
    for (unit, shift) in UNITS {
        let size = 1u128 << shift;
        if bytes >= size {
            if bytes.is_multiple_of(size) {
                return format!("{}{unit}", bytes / size);
            }
            // Whole units and the remainder apart: `bytes * 10` overflows near u128::MAX
            // (a 39-digit quantity parses to that).
            let tenths = (bytes / size) * 10 + ((bytes % size) * 10).div_ceil(size);
            return if tenths.is_multiple_of(10) {
                format!("{}{unit}", tenths / 10)
            } else {
                format!("{}.{}{unit}", tenths / 10, tenths % 10)
            };
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_decimal_suffixes() {
        assert_eq!(parse_bytes("20Gi"), Some(20 << 30));
        assert_eq!(parse_bytes("1Ki"), Some(1024));
        assert_eq!(parse_bytes("500Mi"), Some(500 << 20));
        assert_eq!(parse_bytes("2Ti"), Some(2 << 40));
        assert_eq!(parse_bytes("1Ei"), Some(1 << 60));
        assert_eq!(parse_bytes("1G"), Some(1_000_000_000));
        assert_eq!(parse_bytes("1k"), Some(1000));
        assert_eq!(parse_bytes("3M"), Some(3_000_000));
        assert_eq!(parse_bytes("1T"), Some(1_000_000_000_000));
        assert_eq!(parse_bytes("1024"), Some(1024));
        assert_eq!(parse_bytes("0"), Some(0));
    }

    #[test]
    fn fractions_exponents_and_millis() {
        assert_eq!(parse_bytes("1.5Gi"), Some(1536 << 20));
        assert_eq!(parse_bytes("0.5Ki"), Some(512));
        assert_eq!(parse_bytes("1e3"), Some(1000));
        assert_eq!(parse_bytes("1E3"), Some(1000));
        assert_eq!(parse_bytes("12E-1"), Some(2)); // 1.2 rounds up
        assert_eq!(parse_bytes("100m"), Some(1)); // 0.1 byte rounds up, like Quantity.Value()
        assert_eq!(parse_bytes("1000m"), Some(1));
        assert_eq!(parse_bytes("1500m"), Some(2));
        assert_eq!(parse_bytes("5n"), Some(1));
        assert_eq!(parse_bytes("+2Gi"), Some(2 << 30));
        assert_eq!(parse_bytes(".5Mi"), Some(512 << 10));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "", "Gi", "1GB", "1gi", "1.2.3", "abc", "-1Gi", "1 Gi", ".", "1e", "1e99",
        ] {
            assert_eq!(parse_bytes(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(format_bytes(20 << 30), "20Gi");
        assert_eq!(format_bytes(1536 << 20), "1.5Gi");
        assert_eq!(format_bytes(3 << 40), "3Ti");
        assert_eq!(format_bytes(1_000_000_000), "953.7Mi");
        assert_eq!(format_bytes(512), "512");
        assert_eq!(format_bytes(0), "0");
        assert_eq!(format_bytes((1 << 30) + 1), "1.1Gi");
    }
}
