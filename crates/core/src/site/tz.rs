//! POSIX TZ strings (`CET-1CEST,M3.5.0,M10.5.0/3`), as ONVIF's `TZ` element carries
//! them, and Hikvision's dialect of them in ISAPI's `timeZone`. Written by hand because
//! the only things needed are to tell whether two spellings make the same clock and to
//! translate to and from Hikvision's dialect; the TZ crates on crates.io resolve zones
//! against the system database instead.
//!
//! Hikvision's dialect (`CST-2:00:00DST01:00:00,M4.1.0/02:00:00,M10.5.0/02:00:00`, read
//! from a commissioned device and written the same way by its web page): the names are
//! always `CST` and `DST`, whatever the zone, and the time after `DST` is how far the
//! clock moves in summer, not the summer offset from UTC that POSIX puts there. Read as
//! POSIX, that device (UTC+2, UTC+3 in summer) would be at UTC−1 in summer.

/// A parsed TZ string: names kept, every time turned into seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Zone {
    std: String,
    offset_s: i32,
    dst: Option<String>,
    dst_offset_s: Option<i32>,
    /// Start and end rules: the date part as written, the time in seconds (2:00 default).
    rules: Vec<(String, i32)>,
}

fn name(s: &str) -> Result<(String, &str), String> {
    if let Some(rest) = s.strip_prefix('<') {
        let end = rest.find('>').ok_or("a quoted zone name has no closing '>'")?;
        return Ok((format!("<{}>", &rest[..end]), &rest[end + 1..]));
    }
    let end = s.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(s.len());
    if end < 3 {
        return Err(format!("zone name {:?} is shorter than three letters", &s[..end]));
    }
    Ok((s[..end].to_string(), &s[end..]))
}

/// `[+-]h[:mm[:ss]]` → seconds, and the rest of the string.
fn time(s: &str) -> Result<Option<(i32, &str)>, String> {
    let (sign, body) = match s.as_bytes().first() {
        Some(b'-') => (-1, &s[1..]),
        Some(b'+') => (1, &s[1..]),
        _ => (1, s),
    };
    let end = body.find(|c: char| !(c.is_ascii_digit() || c == ':')).unwrap_or(body.len());
    if end == 0 {
        return Ok(None);
    }
    let mut total = 0i32;
    let parts: Vec<&str> = body[..end].split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty() || p.len() > 3) {
        return Err(format!("bad time {:?}", &body[..end]));
    }
    for (i, (p, unit)) in parts.iter().zip([3600, 60, 1]).enumerate() {
        let n: i32 = p.parse().map_err(|_| format!("bad time {p:?}"))?;
        if i > 0 && n > 59 {
            return Err(format!("bad minutes or seconds {p:?}"));
        }
        total += n * unit;
    }
    Ok(Some((sign * total, &body[end..])))
}

fn parse(text: &str) -> Result<Zone, String> {
    let s = text.trim();
    let (std, rest) = name(s)?;
    let (offset_s, mut rest) = time(rest)?.ok_or_else(|| format!("{s:?}: the UTC offset after {std} is missing"))?;
    let (mut dst, mut dst_offset_s, mut rules) = (None, None, Vec::new());
    if !rest.is_empty() && !rest.starts_with(',') {
        let (d, r) = name(rest)?;
        dst = Some(d);
        rest = r;
        if let Some((o, r)) = time(rest)? {
            dst_offset_s = Some(o);
            rest = r;
        }
    }
    if !rest.is_empty() {
        let Some(list) = rest.strip_prefix(',') else { return Err(format!("{s:?}: unexpected {rest:?}")) };
        for rule in list.split(',') {
            let (date, at) = match rule.split_once('/') {
                Some((d, t)) => (d, time(t)?.filter(|(_, r)| r.is_empty()).map(|(v, _)| v).ok_or("bad rule time")?),
                None => (rule, 7200),
            };
            if date.is_empty() {
                return Err(format!("{s:?}: an empty DST rule"));
            }
            rules.push((date.to_string(), at));
        }
        if rules.len() != 2 || dst.is_none() {
            return Err(format!("{s:?}: DST needs a name and exactly two rules"));
        }
    }
    Ok(Zone { std, offset_s, dst, dst_offset_s, rules })
}

/// The shortest spelling of a time: `h`, `h:mm` or `h:mm:ss`.
fn show(seconds: i32) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let a = seconds.unsigned_abs();
    match (a / 60 % 60, a % 60) {
        (0, 0) => format!("{sign}{}", a / 3600),
        (m, 0) => format!("{sign}{}:{m:02}", a / 3600),
        _ => hms(seconds, false),
    }
}

/// Every part of a time: `h:mm:ss`, or `hh:mm:ss` as Hikvision writes summer shifts and
/// change times.
fn hms(seconds: i32, two_digit_hours: bool) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let a = seconds.unsigned_abs();
    let (h, m, s) = (a / 3600, a / 60 % 60, a % 60);
    if two_digit_hours {
        format!("{sign}{h:02}:{m:02}:{s:02}")
    } else {
        format!("{sign}{h}:{m:02}:{s:02}")
    }
}

/// The shortest spelling of a zone.
fn render(z: &Zone) -> String {
    let mut out = format!("{}{}", z.std, show(z.offset_s));
    if let Some(d) = &z.dst {
        out.push_str(d);
        if let Some(o) = z.dst_offset_s {
            out.push_str(&show(o));
        }
    }
    for (date, at) in &z.rules {
        if *at != 7200 {
            out.push_str(&format!(",{date}/{}", show(*at)));
        } else {
            out.push_str(&format!(",{date}"));
        }
    }
    out
}

/// The shortest spelling of a zone: two strings for the same zone give the same text.
pub fn canonical(text: &str) -> Result<String, String> {
    parse(text).map(|z| render(&z))
}

/// The POSIX summer offset: as written, or an hour ahead of standard time by default.
fn summer_offset(z: &Zone) -> Option<i32> {
    z.dst.as_ref().map(|_| z.dst_offset_s.unwrap_or(z.offset_s - 3600))
}

/// Whether two zones keep the same clock: the same offsets and the same changes. The
/// names are left out: they are labels, and Hikvision writes `CST`/`DST` for every zone.
pub fn equivalent(a: &str, b: &str) -> bool {
    let clock = |z: &Zone| (z.offset_s, summer_offset(z), z.rules.clone());
    matches!((parse(a), parse(b)), (Ok(x), Ok(y)) if clock(&x) == clock(&y))
}

/// How far the clock moves in summer, if a clock could move that far (0–2 h).
fn summer_shift(text: &str, shift: i32) -> Result<i32, String> {
    if shift <= 0 || shift > 2 * 3600 {
        return Err(format!("{text:?}: a summer shift of {} is not one a clock makes", hms(shift, false)));
    }
    Ok(shift)
}

/// A zone written in Hikvision's dialect, as POSIX (canonical): the time after the
/// summer name is the clock's move, so the summer offset is standard minus that move.
pub fn from_hikvision(text: &str) -> Result<String, String> {
    let mut z = parse(text)?;
    if z.dst.is_some() {
        let shift = summer_shift(text, z.dst_offset_s.unwrap_or(3600))?;
        z.dst_offset_s = (shift != 3600).then_some(z.offset_s - shift);
    }
    Ok(render(&z))
}

/// A POSIX zone in Hikvision's dialect: `CST` and `DST` for names, the standard offset
/// signed and as `h:mm:ss`, the summer shift and the change times as `hh:mm:ss`.
pub fn hikvision(text: &str) -> Result<String, String> {
    let z = parse(text)?;
    let sign = if z.offset_s < 0 { "" } else { "+" };
    let mut out = format!("CST{sign}{}", hms(z.offset_s, false));
    if let Some(summer) = summer_offset(&z) {
        out.push_str(&format!("DST{}", hms(summer_shift(text, z.offset_s - summer)?, true)));
        for (date, at) in &z.rules {
            out.push_str(&format!(",{date}/{}", hms(*at, true)));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_zone_agree() {
        assert_eq!(canonical("CST-8:00:00").unwrap(), "CST-8");
        assert_eq!(canonical("CST-8").unwrap(), canonical("CST-08:00").unwrap());
        assert_eq!(canonical("CET-1CEST,M3.5.0,M10.5.0/3").unwrap(), "CET-1CEST,M3.5.0,M10.5.0/3");
        assert_eq!(
            canonical("CET-1:00:00CEST,M3.5.0/02:00:00,M10.5.0/03:00:00").unwrap(),
            "CET-1CEST,M3.5.0,M10.5.0/3"
        );
        assert_eq!(canonical("IST-5:30").unwrap(), "IST-5:30");
        assert_eq!(canonical("<+0330>-3:30").unwrap(), "<+0330>-3:30");
        // From the fixtures' GetSystemDateAndTime answers.
        assert_eq!(canonical("AST4ADT").unwrap(), "AST4ADT");
        assert_eq!(canonical("CST5CDT,M3.2.0/2,M11.1.0/2").unwrap(), "CST5CDT,M3.2.0,M11.1.0");
        assert_eq!(canonical("BRT3").unwrap(), "BRT3");
    }

    #[test]
    fn hikvision_dialect_round_trips() {
        let h = hikvision("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        assert_eq!(h, "CST-1:00:00DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00");
        assert!(equivalent(&from_hikvision(&h).unwrap(), "CET-1CEST,M3.5.0,M10.5.0/3"));
        assert_eq!(hikvision("CST-8").unwrap(), "CST-8:00:00");
        assert_eq!(
            hikvision("EST5EDT,M3.2.0,M11.1.0").unwrap(),
            "CST+5:00:00DST01:00:00,M3.2.0/02:00:00,M11.1.0/02:00:00"
        );
        assert_eq!(hikvision("UTC0").unwrap(), "CST+0:00:00");
        // Lord Howe moves its clock by half an hour.
        let lhst = "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0";
        assert_eq!(hikvision(lhst).unwrap(), "CST-10:30:00DST00:30:00,M10.1.0/02:00:00,M4.1.0/02:00:00");
        assert!(equivalent(&from_hikvision(&hikvision(lhst).unwrap()).unwrap(), lhst));
    }

    #[test]
    fn hikvision_summer_time_is_a_shift_not_an_offset() {
        // What a commissioned DS-KV6124-E1 (UTC+2, UTC+3 in summer) answered.
        let read = "CST-2:00:00DST01:00:00,M4.1.0/02:00:00,M10.5.0/02:00:00";
        assert!(equivalent(&from_hikvision(read).unwrap(), "IST-2IDT,M4.1.0,M10.5.0"));
        assert!(!equivalent(read, "IST-2IDT,M4.1.0,M10.5.0"), "read as POSIX it is another clock");
        assert!(equivalent(
            &from_hikvision("CST+5:00:00DST01:00:00,M3.2.0/02:00:00,M11.1.0/02:00:00").unwrap(),
            "EST5EDT,M3.2.0,M11.1.0"
        ));
        assert_eq!(from_hikvision("CST-8:00:00").unwrap(), "CST-8");
        assert!(from_hikvision("CST-1:00:00DST05:00:00,M3.5.0,M10.5.0").is_err(), "no clock moves five hours");
    }

    #[test]
    fn names_do_not_make_a_different_clock() {
        assert!(equivalent("CET-1CEST,M3.5.0,M10.5.0/3", "CST-1DST,M3.5.0/2,M10.5.0/03:00"));
        assert!(equivalent("CET-1CEST,M3.5.0,M10.5.0/3", "CET-1CEST-2,M3.5.0,M10.5.0/3"));
        assert!(!equivalent("CET-1CEST,M3.5.0,M10.5.0/3", "CET-1CEST,M3.5.0,M10.5.0"), "another change time");
        assert!(!equivalent("CET-1", "CET-1CEST,M3.5.0,M10.5.0/3"));
        assert!(!equivalent("CET-1", "nonsense"));
    }

    #[test]
    fn nonsense_is_an_error_not_a_panic() {
        for bad in
            ["", "UT", "CET", "CET-1CEST,M3.5.0", "CET-1,M3.5.0,M10.5.0", "CET-1:99", "CET-1x", "<CET-1", "CET-1CEST,,"]
        {
            assert!(canonical(bad).is_err(), "{bad:?}");
        }
    }
}
