//! `strftime_now(format)` for templates (Llama 3.x prints "Today Date: 26 Jul 2024" with `"%d %b %Y"`), on the
//! standard library alone: the current UTC time, formatted with the C/Python directives templates use.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The current UTC time formatted like Python's `datetime.now().strftime(format)` in the C locale.
pub(crate) fn strftime_now(format: &str) -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    strftime(format, i64::try_from(secs).unwrap_or(i64::MAX))
}

/// A broken-down UTC time.
struct Tm {
    year: i64,
    /// 1..=12
    month: u32,
    /// 1..=31
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// 0 = Sunday
    weekday: u32,
    /// 1..=366
    yday: u32,
}

impl Tm {
    fn from_unix(secs: i64) -> Tm {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        const BEFORE: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let yday = BEFORE[(month - 1) as usize] + day + u32::from(leap && month > 2);
        Tm {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
            // 1970-01-01 was a Thursday.
            weekday: (days + 4).rem_euclid(7) as u32,
            yday,
        }
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar (the era-based algorithm from
/// Howard Hinnant's "chrono-compatible low-level date algorithms").
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st, 0..=365
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats `secs` (Unix time, UTC) with strftime directives: `%a %A %b %B %c %d %e %F %H %I %j %m %M %p %S %T
/// %u %w %y %Y %z %Z %D %%`, and glibc's `%-d`-style flag for unpadded numbers. Unknown directives are kept as
/// written, as glibc does.
pub(crate) fn strftime(format: &str, secs: i64) -> String {
    let tm = Tm::from_unix(secs);
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let unpadded = chars.peek() == Some(&'-');
        if unpadded {
            chars.next();
        }
        let num = |out: &mut String, n: i64, width: usize| {
            let _ = if unpadded { write!(out, "{n}") } else { write!(out, "{n:0width$}") };
        };
        match chars.next() {
            Some('a') => out.push_str(&DAYS[tm.weekday as usize][..3]),
            Some('A') => out.push_str(DAYS[tm.weekday as usize]),
            Some('b') | Some('h') => out.push_str(&MONTHS[(tm.month - 1) as usize][..3]),
            Some('B') => out.push_str(MONTHS[(tm.month - 1) as usize]),
            Some('c') => out.push_str(&strftime("%a %b %e %H:%M:%S %Y", secs)),
            Some('d') => num(&mut out, tm.day.into(), 2),
            Some('e') => {
                let _ = if unpadded { write!(out, "{}", tm.day) } else { write!(out, "{:2}", tm.day) };
            }
            Some('F') => out.push_str(&strftime("%Y-%m-%d", secs)),
            Some('D') => out.push_str(&strftime("%m/%d/%y", secs)),
            Some('T') => out.push_str(&strftime("%H:%M:%S", secs)),
            Some('H') => num(&mut out, tm.hour.into(), 2),
            Some('I') => num(&mut out, i64::from((tm.hour + 11) % 12 + 1), 2),
            Some('j') => num(&mut out, tm.yday.into(), 3),
            Some('m') => num(&mut out, tm.month.into(), 2),
            Some('M') => num(&mut out, tm.minute.into(), 2),
            Some('p') => out.push_str(if tm.hour < 12 { "AM" } else { "PM" }),
            Some('S') => num(&mut out, tm.second.into(), 2),
            Some('u') => num(&mut out, i64::from((tm.weekday + 6) % 7 + 1), 1),
            Some('w') => num(&mut out, tm.weekday.into(), 1),
            Some('y') => num(&mut out, tm.year.rem_euclid(100), 2),
            Some('Y') => {
                let _ = write!(out, "{}", tm.year);
            }
            Some('z') => out.push_str("+0000"),
            Some('Z') => out.push_str("UTC"),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                if unpadded {
                    out.push('-');
                }
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_dates() {
        // 2024-07-26 13:05:09 UTC, a Friday (Llama 3.1's release-date default).
        let t = 1_721_999_109;
        assert_eq!(strftime("%d %b %Y", t), "26 Jul 2024");
        assert_eq!(strftime("%A %B %-d, %y %H:%M:%S %p %I %j %%", t), "Friday July 26, 24 13:05:09 PM 01 208 %");
        assert_eq!(strftime("%F %T %Z %z %u %w", t), "2024-07-26 13:05:09 UTC +0000 5 5");
        assert_eq!(strftime("%c", 0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(strftime("%Q %-Q", 0), "%Q %-Q");
        // Leap day, end of a leap year, and before the epoch.
        assert_eq!(strftime("%Y-%m-%d %j", 951_782_400), "2000-02-29 060");
        assert_eq!(strftime("%Y-%m-%d %j", 1_735_603_200), "2024-12-31 366");
        assert_eq!(strftime("%Y-%m-%d %a", -86_400), "1969-12-31 Wed");
    }

    #[test]
    fn now_is_plausible() {
        let year: i64 = strftime_now("%Y").parse().unwrap();
        assert!(year >= 2025, "{year}");
    }
}
