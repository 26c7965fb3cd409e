//! The Python program each demo mirrors, shown beside the timeline (and copyable), so the
//! lecture can put the code and what it did side by side.

use shared::{DemoRequest, PoolApi, PoolParams, ProcessesParams, TwoProcessesParams, Work};

/// The Python equivalent of `demo`.
pub fn python_code(demo: &DemoRequest) -> String {
    match demo {
        DemoRequest::TwoProcesses(p) => two_processes(p),
        DemoRequest::Pool(p) => pool(p),
        DemoRequest::Processes(p) => processes(p),
        DemoRequest::Python(p) => match &p.program {
            shared::PythonProgram::Code { source } => source.clone(),
            shared::PythonProgram::Shipped { name } => {
                format!("# {name}.py, one of the programs procviz ships (run as written)\n")
            }
        },
    }
}

fn two_processes(p: &TwoProcessesParams) -> String {
    format!(
        "from multiprocessing import Process\n\n\
def print_square(num):\n    print(\"Square: {{}}\".format(num * num))\n\n\
def print_cube(num):\n    print(\"Cube: {{}}\".format(num * num * num))\n\n\
if __name__ == \"__main__\":\n    p1 = Process(target=print_square, args=({n},))\n    \
p2 = Process(target=print_cube, args=({n},))\n    p1.start()\n    p2.start()\n    \
p1.join()\n    p2.join()\n    print(\"Done!\")\n",
        n = p.num
    )
}

fn work_line(work: Work, ms: u64) -> Option<String> {
    let secs = ms as f64 / 1000.0;
    match work {
        Work::Sleep if ms > 0 => Some(format!("time.sleep({secs})")),
        Work::Cpu if ms > 0 => Some(format!("burn_cpu({secs})  # {secs} s of CPU time")),
        _ => None,
    }
}

/// A CPU-bound function: `seconds` of the calling thread's CPU time.
const BURN_CPU: &str = "def burn_cpu(seconds):\n    end = time.thread_time() + seconds\n    while time.thread_time() < end:\n        pass\n\n";

/// `os.sched_setaffinity` for a `cores` restriction (children inherit it).
fn affinity(cores: &Option<Vec<u32>>) -> String {
    match cores {
        Some(c) => {
            let list: Vec<String> = c.iter().map(u32::to_string).collect();
            format!(
                "    os.sched_setaffinity(0, {{{}}})  # children inherit the allowed cores\n",
                list.join(", ")
            )
        }
        None => String::new(),
    }
}

fn pool(p: &PoolParams) -> String {
    let mut f = String::from("import os, time\nfrom multiprocessing import Pool\n\n");
    if p.work == Work::Cpu {
        f.push_str(BURN_CPU);
    }
    f.push_str("def work(n):\n");
    if p.print {
        f.push_str(
            "    print(f\"Process {current_process().name} started working on task {n}\")\n",
        );
    }
    if !p.fail.is_empty() {
        let list: Vec<String> = p.fail.iter().map(u64::to_string).collect();
        let cond = if list.len() == 1 {
            format!("n == {}", list[0])
        } else {
            format!("n in ({})", list.join(", "))
        };
        f.push_str(&format!(
            "    if {cond}:\n        raise {}(\"{}\")\n",
            p.error_type, p.error_message
        ));
    }
    if let Some(line) = work_line(p.work, p.task_ms) {
        f.push_str(&format!("    {line}\n"));
    }
    if p.print {
        f.push_str("    print(f\"Process {current_process().name} ended working on task {n}\")\n");
    }
    f.push_str("    return n\n\n");
    if p.print {
        f = f.replace(
            "from multiprocessing import Pool",
            "from multiprocessing import Pool, current_process",
        );
    }
    let chunk = p
        .chunksize
        .map(|c| format!(", chunksize={c}"))
        .unwrap_or_default();
    let extra = p
        .maxtasksperchild
        .map(|k| format!(", maxtasksperchild={k}"))
        .unwrap_or_default();
    f.push_str(&format!(
        "if __name__ == \"__main__\":\n{}    start = time.time()\n    results = []\n    with Pool({}{extra}) as pool:\n",
        affinity(&p.cores),
        p.workers
    ));
    let tasks = p.tasks;
    match p.api {
        PoolApi::Imap | PoolApi::ImapUnordered => {
            let call = p.api.python_name();
            f.push_str(&format!(
                "        it = pool.{call}(work, range({tasks}){chunk})\n        while True:\n            try:\n                results.append(next(it))\n            except StopIteration:\n                break\n            except Exception as e:\n                results.append(e)\n"
            ));
        }
        PoolApi::Map => f.push_str(&format!(
            "        try:\n            results = pool.map(work, range({tasks}){chunk})\n        except Exception as e:\n            results = [e]\n"
        )),
        PoolApi::ApplyAsync => f.push_str(&format!(
            "        handles = [pool.apply_async(work, (n,), callback=results.append,\n                                    error_callback=results.append)\n                   for n in range({tasks})]\n        pool.close()\n        pool.join()\n"
        )),
    }
    f.push_str("    print(results)\n    print(\"time took:\", round(time.time() - start, 1))\n");
    f
}

fn processes(p: &ProcessesParams) -> String {
    let mut f = String::from("import os, time\nfrom multiprocessing import Process\n");
    if p.threads > 0 {
        f.push_str("from threading import Thread\n");
    }
    f.push('\n');
    if p.work == Work::Cpu || p.threads > 0 {
        f.push_str(BURN_CPU);
    }
    f.push_str("def work(i):\n");
    if !p.print.is_empty() {
        let text = p
            .print
            .replace("{task}", "{i}")
            .replace("{name}", "{current_process().name}");
        f.push_str(&format!("    print(f\"{text}\")\n"));
    }
    if !p.fail.is_empty() {
        f.push_str(&format!(
            "    if i in {:?}:\n        raise RuntimeError(f\"process {{i}} failed\")\n",
            p.fail
        ));
    }
    if p.threads > 0 && p.work_ms > 0 {
        f.push_str(&format!(
            "    threads = [Thread(target=burn_cpu, args=({},)) for _ in range({})]\n    for t in threads:\n        t.start()\n    for t in threads:\n        t.join()\n",
            p.work_ms as f64 / 1000.0,
            p.threads
        ));
    } else if let Some(line) = work_line(p.work, p.work_ms) {
        f.push_str(&format!("    {line}\n"));
    }
    if p.exit_code != 0 {
        f.push_str(&format!("    raise SystemExit({})\n", p.exit_code));
    }
    f.push_str(&format!(
        "\nif __name__ == \"__main__\":\n{}    start = time.time()\n    procs = [Process(target=work, args=(i,)) for i in range(1, {} + 1)]\n",
        affinity(&p.cores),
        p.count
    ));
    if p.sequential {
        f.push_str("    for p in procs:\n        p.start()\n        p.join()\n");
    } else {
        f.push_str(
            "    for p in procs:\n        p.start()\n    for p in procs:\n        p.join()\n",
        );
    }
    f.push_str("    print([p.exitcode for p in procs])\n    print(\"time took:\", round(time.time() - start, 1))\n");
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_pool_reads_like_the_teaching_example() {
        let code = python_code(&DemoRequest::Pool(PoolParams::default()));
        assert!(code.contains("with Pool(4) as pool:"));
        assert!(code.contains("pool.imap(work, range(10))"));
        assert!(code.contains("if n == 0:\n        raise ZeroDivisionError(\"division by zero\")"));
        assert!(code.contains("time.sleep(1)"));
        assert!(code.contains("current_process"));
    }

    #[test]
    fn each_api_and_option_shows_in_the_code() {
        let p = PoolParams {
            api: PoolApi::Map,
            chunksize: Some(3),
            maxtasksperchild: Some(2),
            fail: vec![],
            work: Work::Cpu,
            ..PoolParams::default()
        };
        let code = python_code(&DemoRequest::Pool(p));
        assert!(code.contains("pool.map(work, range(10), chunksize=3)"));
        assert!(code.contains("Pool(4, maxtasksperchild=2)"));
        assert!(code.contains("burn_cpu(1)"));
        assert!(!code.contains("raise"));
        let a = python_code(&DemoRequest::Pool(PoolParams {
            api: PoolApi::ApplyAsync,
            ..PoolParams::default()
        }));
        assert!(a.contains("apply_async(work, (n,), callback=results.append"));
    }

    #[test]
    fn plain_process_demos_have_their_code_too() {
        let two = python_code(&DemoRequest::TwoProcesses(TwoProcessesParams::default()));
        assert!(two.contains("args=(10,)") && two.contains("print(\"Done!\")"));
        let procs = python_code(&DemoRequest::Processes(ProcessesParams::default()));
        assert!(procs.contains("print(f\"Num: {i}\")"));
        assert!(procs.contains("range(1, 4 + 1)"));
    }

    #[test]
    fn the_chef_and_the_threads_lessons_read_as_python() {
        let runs = shared::Lesson::ChefAlone.runs(2, PoolApi::Imap);
        let alone = python_code(&runs[0].request);
        assert!(alone.contains("os.sched_setaffinity(0, {0})"), "{alone}");
        assert!(alone.contains("burn_cpu(1)") && alone.contains("def burn_cpu"));
        assert!(!python_code(&runs[1].request).contains("sched_setaffinity"));
        let threads =
            python_code(&shared::Lesson::ThreadsVsProcesses.runs(2, PoolApi::Imap)[0].request);
        assert!(
            threads.contains("from threading import Thread"),
            "{threads}"
        );
        assert!(threads.contains("for _ in range(4)]"), "{threads}");
        assert!(
            threads.contains("range(1, 1 + 1)"),
            "one process: {threads}"
        );
    }
}
