//! Resource quantities (k8s.io/apimachinery/pkg/api/resource): `20Gi`, `500M`, `1.5Ti`,
//! `100m`, `1e3`, compared by value as `Quantity.Cmp` does, never as strings.

/// The value of a quantity in base units (bytes for storage); `None` when it does not
/// parse. Sizes up to 2^53 bytes are exact.
pub fn parse(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(q.len());
    let (n, suffix) = q.split_at(split);
    let n: f64 = n.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        s => {
            let exp: i32 = s.strip_prefix(['e', 'E'])?.parse().ok()?;
            10f64.powi(exp)
        }
    };
    Some(n * mult)
}

/// `Quantity.Cmp` of two quantities held as JSON values (a string, or a bare number as
/// some clients send); `None` when either does not parse.
pub fn cmp(a: &serde_json::Value, b: &serde_json::Value) -> Option<std::cmp::Ordering> {
    let v = |x: &serde_json::Value| match x {
        serde_json::Value::String(s) => parse(s),
        serde_json::Value::Number(n) => n.as_f64(),
        _ => None,
    };
    v(a)?.partial_cmp(&v(b)?)
}

/// A whole value in canonical form (`Quantity.String()`): the largest suffix of the
/// format (binary `Ki`..`Ei`, or decimal `k`..`E`) that divides it, else bare.
pub fn format(v: f64, binary: bool) -> String {
    let v = v.round();
    if v == 0.0 {
        return "0".into();
    }
    let (base, suffixes): (f64, &[&str]) = if binary {
        (1024.0, &["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"])
    } else {
        (1000.0, &["k", "M", "G", "T", "P", "E"])
    };
    let (mut n, mut unit) = (v, "");
    for s in suffixes {
        if n % base != 0.0 {
            break;
        }
        n /= base;
        unit = s;
    }
    format!("{n}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn binary_decimal_and_exponent_forms() {
        assert_eq!(parse("20Gi"), Some(20.0 * 1024f64.powi(3)));
        assert_eq!(parse("1G"), Some(1e9));
        assert_eq!(parse("1e3"), Some(1000.0));
        assert_eq!(parse("500m"), Some(0.5));
        assert_eq!(parse("1.5Ki"), Some(1536.0));
        assert_eq!(parse("12 apples"), None);
        assert_eq!(cmp(&json!("1Gi"), &json!("1024Mi")), Some(std::cmp::Ordering::Equal));
        assert_eq!(cmp(&json!("30Gi"), &json!("20Gi")), Some(std::cmp::Ordering::Greater));
    }

    #[test]
    fn canonical_form() {
        assert_eq!(format(parse("40Gi").unwrap(), true), "40Gi");
        assert_eq!(format(parse("1536Mi").unwrap(), true), "1536Mi");
        assert_eq!(format(1500.0, false), "1500");
        assert_eq!(format(2e9, false), "2G");
        assert_eq!(format(3.0, false), "3");
        assert_eq!(format(0.0, true), "0");
    }
}
