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
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(&bytes[..=last]);
        for line in data.split(|&b| b == b'\n') {
            self.line(line);
        }
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

    fn line(&mut self, line: &[u8]) {
        let line = line.trim_ascii();
        if line.is_empty() {
            return;
        }
        match Event::from_json(line) {
            Ok(event) => {
                self.events += 1;
                let model = self.model.get_or_insert_with(|| RunModel::new(event.run));
                model.apply(&event);
            }
            Err(e) => {
                self.bad_lines += 1;
                if self.first_problem.is_none() {
                    let shown = String::from_utf8_lossy(&line[..line.len().min(60)]).into_owned();
                    self.first_problem = Some(format!("line {:?}…: {e}", shown));
                }
            }
        }
    }

    /// The run read, once the whole file has been fed, with a note of the lines skipped; an
    /// error if it held no event.
    pub fn finish(mut self) -> Result<(RunModel, Option<String>), String> {
        let rest = std::mem::take(&mut self.carry);
        self.line(&rest);
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
