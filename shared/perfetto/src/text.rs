//! The text of a trace: JSON strings, times in the two units a trace uses (microseconds in
//! `traceEvents`, seconds in the ftrace text) and ftrace task names. Pure functions.

use shared::RunTime;
use std::fmt;

/// A string as a JSON string literal (quotes included). Control characters become spaces
/// rather than `\u` escapes: Perfetto's JSON tokenizer reads some strings itself, and older
/// versions of it reject `\u` escapes (a whole trace failed on one).
pub struct Str<'a>(pub &'a str);

impl fmt::Display for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        let mut rest = self.0;
        while let Some(i) = rest.find(|c: char| c == '"' || c == '\\' || c.is_control()) {
            f.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or(' ');
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                _ => f.write_str(" ")?,
            }
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)?;
        f.write_str("\"")
    }
}

/// A run time in microseconds with its nanoseconds as three decimals (`1234.567`): the unit
/// of `ts` and `dur`, without rounding (so intervals that touch in the run still touch).
pub struct Micros(pub RunTime);

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0.as_nanos();
        write!(f, "{}.{:03}", ns / 1000, ns % 1000)
    }
}

/// Nanoseconds as milliseconds with six decimals (`181.269000`).
pub struct Millis(pub u64);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

/// Whole microseconds as ftrace prints a timestamp: seconds with six decimals.
pub struct Seconds(pub u64);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

/// A name as an ftrace task name (`comm`): letters, digits and `. _ / : + -`, anything else
/// (spaces, `=`, quotes, non-ASCII) replaced by `_`, because the text's fields are split at
/// spaces and `=`. Never empty.
pub fn comm(name: &str) -> String {
    let out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._/:+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() { "_".into() } else { out }
}

/// A share from 0 to 1 as a percentage with one decimal (`73.2`); 0 for a value that is not
/// a number.
pub fn percent(share: f32) -> f64 {
    let p = (f64::from(share) * 1000.0).round() / 10.0;
    if p.is_finite() { p } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_and_control_characters_become_spaces() {
        assert_eq!(Str("task 4").to_string(), "\"task 4\"");
        assert_eq!(
            Str("a \"b\" \\ c\n\td\u{1}é").to_string(),
            "\"a \\\"b\\\" \\\\ c  d é\""
        );
        let parsed: String =
            serde_json::from_str(&Str("x\"\\\u{7f}y").to_string()).expect("valid JSON");
        assert_eq!(parsed, "x\"\\ y");
    }

    #[test]
    fn times_keep_every_nanosecond_in_microseconds_and_round_down_in_seconds() {
        assert_eq!(Micros(RunTime(0)).to_string(), "0.000");
        assert_eq!(Micros(RunTime(1_234_567)).to_string(), "1234.567");
        assert_eq!(Micros(RunTime(5)).to_string(), "0.005");
        assert_eq!(Millis(181_269_000).to_string(), "181.269000");
        assert_eq!(Seconds(0).to_string(), "0.000000");
        assert_eq!(Seconds(61_000_042).to_string(), "61.000042");
    }

    #[test]
    fn comm_names_have_no_spaces_nor_equals_signs() {
        assert_eq!(comm("PoolWorker-1"), "PoolWorker-1");
        assert_eq!(comm("my worker=1 é"), "my_worker_1__");
        assert_eq!(comm(""), "_");
        assert_eq!(comm("Process-1/12"), "Process-1/12");
    }

    #[test]
    fn shares_read_as_percentages() {
        assert_eq!(percent(0.732_687), 73.3);
        assert_eq!(percent(1.0), 100.0);
        assert_eq!(percent(f32::NAN), 0.0);
    }
}
