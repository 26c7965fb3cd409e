//! The caller's side of a pool: each task's result as it finishes, and what the caller's API
//! gives it when — `imap` the chunks in order, `imap_unordered`/`apply_async` each chunk as it
//! completes, `map` everything once the last task has finished (or its first error raised and
//! every result lost). A chunk of several tasks with an error raises that error from the
//! iterator (Python's behaviour), after which the caller gets nothing more.

use shared::{EventKind, PoolApi, RunTime, TaskError, TaskResult};

/// A task's state, compactly (a million of them fit in 16 MB).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    Pending,
    Value(i64),
    /// Index into `Results::errors`.
    Error(u32),
    /// Index into `Results::reprs` (procviz's workers return integers; kept for completeness).
    Repr(u32),
}

/// Every task's result and what the caller has had of them.
#[derive(Debug)]
pub struct Results {
    api: PoolApi,
    tasks: u64,
    chunksize: u64,
    chunks: u64,
    slots: Vec<Slot>,
    errors: Vec<TaskError>,
    reprs: Vec<String>,
    /// Tasks left per chunk.
    chunk_left: Vec<u32>,
    finished: u64,
    /// Chunks whose results the caller has had.
    consumed_chunks: u64,
    /// imap: the next chunk the caller waits for.
    next_chunk: u64,
    /// The caller has everything its API will give it.
    caller_done: bool,
}

impl Results {
    /// Tasks `0..tasks` in chunks of `chunksize` (at least 1), none finished.
    pub fn new(api: PoolApi, tasks: u64, chunksize: u32) -> Self {
        let chunksize = u64::from(chunksize.max(1));
        let chunks = tasks.div_ceil(chunksize);
        Results {
            api,
            tasks,
            chunksize,
            chunks,
            slots: vec![Slot::Pending; tasks as usize],
            errors: Vec::new(),
            reprs: Vec::new(),
            chunk_left: (0..chunks)
                .map(|c| (tasks - c * chunksize).min(chunksize) as u32)
                .collect(),
            finished: 0,
            consumed_chunks: 0,
            next_chunk: 0,
            caller_done: tasks == 0,
        }
    }

    /// Number of chunks.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// The tasks of `chunk`.
    pub fn chunk_tasks(&self, chunk: u64) -> std::ops::Range<u64> {
        chunk * self.chunksize..((chunk + 1) * self.chunksize).min(self.tasks)
    }

    /// Whether `task` has not finished yet.
    pub fn is_pending(&self, task: u64) -> bool {
        self.slots.get(task as usize) == Some(&Slot::Pending)
    }

    /// Whether every task has finished and the caller has everything its API gives it.
    pub fn all_done(&self) -> bool {
        self.caller_done && self.finished == self.tasks
    }

    /// Records `task`'s result. `None` if it does not exist or already finished (the result
    /// is ignored); otherwise `Some(Some(chunk))` when that completed its chunk.
    pub fn record(&mut self, task: u64, result: &TaskResult) -> Option<Option<u64>> {
        let Some(slot) = self.slots.get_mut(task as usize) else {
            tracing::warn!(task, "a worker reported a task that does not exist");
            return None;
        };
        if *slot != Slot::Pending {
            return None;
        }
        *slot = match result {
            TaskResult::Value { value } => Slot::Value(*value),
            TaskResult::Error(e) => {
                self.errors.push((**e).clone());
                Slot::Error((self.errors.len() - 1) as u32)
            }
            TaskResult::Repr { text } => {
                self.reprs.push(text.clone());
                Slot::Repr((self.reprs.len() - 1) as u32)
            }
        };
        self.finished += 1;
        let chunk = task / self.chunksize;
        self.chunk_left[chunk as usize] -= 1;
        Some((self.chunk_left[chunk as usize] == 0).then_some(chunk))
    }

    fn result_of(&self, task: u64) -> TaskResult {
        match self.slots[task as usize] {
            Slot::Value(value) => TaskResult::Value { value },
            Slot::Error(i) => TaskResult::Error(Box::new(self.errors[i as usize].clone())),
            Slot::Repr(i) => TaskResult::Repr {
                text: self.reprs[i as usize].clone(),
            },
            Slot::Pending => TaskResult::Error(Box::new(TaskError {
                error_type: "Pending".into(),
                message: "not finished".into(),
                location: String::new(),
                traceback: None,
            })),
        }
    }

    /// The caller receives the results of `tasks`, in that order, at `now`.
    fn deliver(
        &self,
        tasks: std::ops::Range<u64>,
        now: RunTime,
        events: &mut Vec<(RunTime, EventKind)>,
    ) {
        for index in tasks {
            let result = self.result_of(index);
            events.push((now, EventKind::ResultConsumed { index, result }));
        }
    }

    /// The caller takes chunk `chunk`: each result, or (a chunk of several tasks with an
    /// error) the chunk's first error raised, after which the iterator is exhausted.
    fn consume_chunk(&mut self, chunk: u64, now: RunTime, events: &mut Vec<(RunTime, EventKind)>) {
        if self.caller_done {
            return;
        }
        let range = self.chunk_tasks(chunk);
        let first_error = range.clone().find_map(|t| match self.slots[t as usize] {
            Slot::Error(i) => Some(i),
            _ => None,
        });
        match first_error {
            Some(i) if self.chunksize > 1 => {
                events.push((
                    now,
                    EventKind::CallerRaised {
                        error: Box::new(self.errors[i as usize].clone()),
                        lost_results: self
                            .tasks
                            .saturating_sub(self.consumed_chunks * self.chunksize),
                    },
                ));
                self.caller_done = true;
            }
            _ => {
                self.deliver(range, now, events);
                self.consumed_chunks += 1;
                if self.consumed_chunks == self.chunks {
                    self.caller_done = true;
                }
            }
        }
    }

    /// Every task of `chunk` has finished: records, at `now`, what the caller's API gives it
    /// now.
    pub fn chunk_done(&mut self, chunk: u64, now: RunTime, events: &mut Vec<(RunTime, EventKind)>) {
        match self.api {
            PoolApi::Imap => {
                if chunk != self.next_chunk {
                    return;
                }
                while self.next_chunk < self.chunks
                    && self.chunk_left[self.next_chunk as usize] == 0
                {
                    let c = self.next_chunk;
                    self.next_chunk += 1;
                    self.consume_chunk(c, now, events);
                }
            }
            PoolApi::ImapUnordered | PoolApi::ApplyAsync => self.consume_chunk(chunk, now, events),
            PoolApi::Map => {
                if self.finished < self.tasks {
                    return;
                }
                let first_error = self.slots.iter().find_map(|s| match s {
                    Slot::Error(i) => Some(*i),
                    _ => None,
                });
                match first_error {
                    Some(i) => events.push((
                        now,
                        EventKind::CallerRaised {
                            error: Box::new(self.errors[i as usize].clone()),
                            lost_results: self.tasks - 1,
                        },
                    )),
                    None => self.deliver(0..self.tasks, now, events),
                }
                self.caller_done = true;
            }
        }
    }
}
