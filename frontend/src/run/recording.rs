//! A recorded run: the NDJSON that `procviz run` writes, read in chunks of any size into an
//! ordinary run model whose source is the file.

use super::model::RunModel;
use shared::Event;

/// Reads a recorded run (the NDJSON that `procviz run` writes: one event per line) fed in
/// chunks of any size, so a file of hundreds of megabytes loads without holding the page.
#[derive(Debug, Default)]
pub struct Recording {
    model: Option<RunModel>,
    carry: Vec<u8>,
    /// Events read.
    pub events: u64,
    /// Lines that were not events (skipped).
    pub bad_lines: u64,
    /// The first of them, for the message.
    pub first_problem: Option<String>,
}

impl Recording {
    /// Reads the complete lines in `bytes` (the rest waits for the next chunk).
    pub fn feed(&mut self, bytes: &[u8]) {
        // Only the new bytes are searched for the last line end: a long line costs its
        // length once, not once per chunk.
        let Some(last) = bytes.iter().rposition(|&b| b == b'\n') else {
            self.carry.extend_from_slice(bytes);
            return;
        };
        // The line begun in the chunk before is completed and read alone; the whole lines
        // after it are read where they are (no copy).
        let mut whole = &bytes[..=last];
        if !self.carry.is_empty() {
            let first = whole.iter().position(|&b| b == b'\n').unwrap_or(last);
            let mut line = std::mem::take(&mut self.carry);
            line.extend_from_slice(&whole[..=first]);
            self.lines(&line);
            whole = &whole[first + 1..];
        }
        self.lines(whole);
        self.carry = bytes[last + 1..].to_vec();
    }

    /// Lines that were skipped, for the user: `None` when every line was an event.
    pub fn skipped(&self) -> Option<String> {
        (self.bad_lines > 0).then(|| {
            format!(
                "{} lines of the file were not events and were skipped (first: {})",
                self.bad_lines,
                self.first_problem.as_deref().unwrap_or("?")
            )
        })
    }

    /// Reads whole lines (each event applied as it is read).
    fn lines(&mut self, text: &[u8]) {
        let Recording {
            model,
            events,
            bad_lines,
            first_problem,
            ..
        } = self;
        Event::each_in_lines(text, &mut |read| match read {
            Ok(event) => {
                *events += 1;
                model
                    .get_or_insert_with(|| RunModel::new(event.run))
                    .apply(&event);
            }
            Err((line, e)) => {
                *bad_lines += 1;
                if first_problem.is_none() {
                    let shown = String::from_utf8_lossy(&line[..line.len().min(60)]).into_owned();
                    *first_problem = Some(format!("line {shown:?}…: {e}"));
                }
            }
        });
    }

    /// The run read, once the whole file has been fed, with a note of the lines skipped; an
    /// error if it held no event.
    pub fn finish(mut self) -> Result<(RunModel, Option<String>), String> {
        let rest = std::mem::take(&mut self.carry);
        self.lines(&rest);
        let skipped = self.skipped();
        match self.model {
            Some(m) => Ok((m, skipped)),
            None => Err(format!(
                "not a procviz recording: no event found ({})",
                self.first_problem
                    .unwrap_or_else(|| "the file is empty".into())
            )),
        }
    }
}
