//! The engine of one loaded local model: a dedicated thread that owns the model's slots (one KV cache each) and
//! runs requests from a bounded queue.
//!
//! - Requests wait in a FIFO queue of fixed size; a full queue is refused at once with `overloaded`.
//! - Each slot holds one request. The thread steps the active slots in turn (a prompt chunk, or one token), so
//!   several conversations progress together and a long prompt does not block a short answer.
//! - A request whose consumer went away or pressed stop is finished at the next step and its slot freed.
//! - The thread never waits for a consumer (`outbox.rs`): a request whose consumer is behind is not stepped while
//!   the others run on, and one behind for longer than the stall timeout is cancelled.
//! - A new request takes the free slot whose cache shares the longest prefix with its prompt, and only the rest
//!   of the prompt is processed: turn n+1 of a chat does not re-process turns 1..n.
//! - Requests arrive tokenized and checked against the context ([`super::prompt::Prompter`], before queueing);
//!   generation stops with finish reason `length` when `max_tokens` is reached or the
//!   context is full, whichever comes first.
//!
//! The thread never touches the async runtime: it blocks on its own queue and hands tokens to the consumer through
//! the completion channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use super::model::{KvCache, Model};
use super::outbox::{Flow, Outbox};
use super::prompt::Prompter;
use super::sampling::{Generation, Sampler};
use super::stream::CompletionSender;
use super::tool_calls::{ToolCallParser, ToolParse};
use super::types::{Completion, FinishReason, SamplingParams, StreamItem, Timings, ToolCall, Usage};
use crate::error::{Error, Result};

/// Prompt tokens of one request processed per pass: large enough for efficient matrix products, small enough
/// that other slots and cancellation are served often. Chunks end at multiples of it: where a chunk ends changes
/// the rounding of its attention (the products run over the positions up to its end), so fixed ends keep a
/// request's numbers independent of what else the engine runs.
const PROMPT_CHUNK: usize = 256;

/// Prompt tokens of all requests processed per pass (their chunks run together, see [`Engine::prefill`]): the
/// slots that decode wait for that pass, so it bounds the pause between their tokens.
const PROMPT_BUDGET: usize = 512;

/// A request in the queue, its prompt already tokenized.
#[derive(Debug)]
pub(crate) struct Job {
    pub tokens: Vec<u32>,
    /// The request's tools: the reply's calls are parsed out of its text.
    pub tools: Option<serde_json::Value>,
    pub sampling: SamplingParams,
    pub max_tokens: Option<u32>,
    pub stop: Vec<String>,
    pub out: CompletionSender,
    pub enqueued: Instant,
}

/// Counters the scheduler and `/metrics` read.
#[derive(Debug, Default)]
pub struct EngineStats {
    /// Requests waiting for a slot.
    pub queued: AtomicUsize,
    /// Requests in a slot.
    pub active: AtomicUsize,
    /// Prompt tokens processed (not counting reused cache).
    pub prompt_tokens: AtomicUsize,
    /// Tokens generated.
    pub generated_tokens: AtomicUsize,
    /// Prompt tokens served from the KV cache.
    pub cached_tokens: AtomicUsize,
}

/// What the engine thread needs; built by the scheduler when a model is loaded.
pub(crate) struct EngineParts {
    pub model: Arc<Model>,
    pub prompter: Arc<Prompter>,
    pub slots: usize,
    /// How long a consumer may leave its items unread before its request is cancelled.
    pub stall_timeout: Duration,
}

/// The scheduler's handle on a running engine. Dropping it lets the thread finish its requests and exit.
#[derive(Debug)]
pub(crate) struct EngineHandle {
    tx: SyncSender<Job>,
    pub stats: Arc<EngineStats>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EngineHandle {
    /// Starts the engine thread with a queue of `queue` waiting requests.
    pub fn start(name: &str, parts: EngineParts, queue: usize) -> Result<EngineHandle> {
        let (tx, rx) = std::sync::mpsc::sync_channel(queue.max(1));
        let stats = Arc::new(EngineStats::default());
        let caches = parts.model.new_caches(parts.slots.max(1), parts.prompter.context)?;
        let slots: Vec<Slot> = caches.into_iter().map(|cache| Slot { cache, job: None }).collect();
        let engine = Engine { parts, slots, draining: Vec::new(), stats: stats.clone() };
        let thread = std::thread::Builder::new()
            .name(format!("engine-{name}"))
            .spawn(move || engine.run(rx))
            .map_err(|e| Error::Engine(format!("cannot start the engine thread: {e}")))?;
        Ok(EngineHandle { tx, stats, thread: Some(thread) })
    }

    /// Queues a job, or refuses it at once when the queue is full.
    pub fn submit(&self, job: Job) -> Result<()> {
        self.stats.queued.fetch_add(1, Ordering::SeqCst);
        match self.tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.stats.queued.fetch_sub(1, Ordering::SeqCst);
                Err(match e {
                    TrySendError::Full(_) => {
                        Error::Overloaded("the model is busy and its queue is full; try again shortly".into())
                    }
                    TrySendError::Disconnected(_) => Error::Engine("the model's engine has stopped".into()),
                })
            }
        }
    }

    /// Stops accepting work and waits for the thread (in-flight requests are finished as cancelled).
    pub fn shutdown(mut self) {
        let (tx, _) = std::sync::mpsc::sync_channel(1);
        drop(std::mem::replace(&mut self.tx, tx));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Slot {
    cache: KvCache,
    job: Option<Active>,
}

/// A request in a slot.
struct Active {
    job: Job,
    /// Where its items go (never blocking).
    outbox: Outbox,
    tokens: Vec<u32>,
    /// Prompt tokens already in the cache.
    processed: usize,
    cached: usize,
    sampler: Sampler,
    generation: Generation,
    logits: Option<Vec<f32>>,
    /// Separates tool calls from text when the request offers tools.
    tools: Option<ToolCallParser>,
    text: String,
    tool_calls: Vec<ToolCall>,
    generated: u32,
    started: Instant,
    prompt_done: Option<Instant>,
    first_token: Option<Instant>,
}

/// What a slot's step came to.
enum Step {
    /// Nothing to do.
    Continue,
    /// Prompt tokens other than the last are left: they run in the next prompt pass.
    Prompt,
    /// The request is over.
    Finished(FinishReason),
    /// A token to run in the next decoding pass: one just emitted, or the prompt's last.
    Run(u32),
}

/// The work a slot's step leaves for the passes.
enum Work {
    Prompt,
    Run(u32),
}

struct Engine {
    parts: EngineParts,
    slots: Vec<Slot>,
    /// Finished requests whose last items their consumers have not taken yet.
    draining: Vec<Outbox>,
    stats: Arc<EngineStats>,
}

impl Engine {
    fn run(mut self, rx: Receiver<Job>) {
        let mut waiting: Option<Job> = None;
        loop {
            // Admit waiting requests into free slots; block only when there is nothing else to do.
            while self.slots.iter().any(|s| s.job.is_none()) {
                let busy = self.slots.iter().any(|s| s.job.is_some()) || !self.draining.is_empty();
                let next = if let Some(job) = waiting.take() {
                    Some(job)
                } else if busy {
                    rx.try_recv().ok()
                } else {
                    match rx.recv_timeout(Duration::from_secs(3600)) {
                        Ok(job) => Some(job),
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                };
                let Some(job) = next else { break };
                // Counted active before it stops counting as queued: the scheduler never sees it in neither (and
                // the model as idle, to evict).
                self.admit(job);
                self.stats.queued.fetch_sub(1, Ordering::SeqCst);
            }
            self.drain();
            // The slots' prompt chunks run in one pass, then the slots that decode run their next tokens in
            // another. A slot whose consumer is behind waits (its items stay in its outbox).
            let mut prompts = Vec::new();
            let mut decoding = Vec::new();
            let mut stepped = false;
            for i in 0..self.slots.len() {
                if !self.ready(i) {
                    continue;
                }
                stepped = true;
                match self.step(i) {
                    Some(Work::Prompt) => prompts.push(i),
                    Some(Work::Run(token)) => decoding.push((i, token)),
                    None => {}
                }
            }
            if !prompts.is_empty() {
                self.prefill(prompts);
            }
            if !decoding.is_empty() {
                self.decode(&decoding);
            }
            if !stepped && (self.slots.iter().any(|s| s.job.is_some()) || !self.draining.is_empty()) {
                // Every request waits for its consumer: look again shortly, taking a new request meanwhile.
                match rx.recv_timeout(Duration::from_millis(5)) {
                    Ok(job) => waiting = Some(job),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        }
    }

    /// Whether slot `i` holds a request to step now: its consumer took everything so far. One gone, or behind for
    /// longer than the stall timeout, is finished as cancelled.
    fn ready(&mut self, i: usize) -> bool {
        let stall = self.parts.stall_timeout;
        let Some(a) = self.slots[i].job.as_mut() else { return false };
        match a.outbox.flush() {
            Flow::Clear => true,
            Flow::Behind if !a.outbox.stalled(stall) => false,
            flow => {
                if flow == Flow::Behind {
                    tracing::warn!(after = ?stall, "a client stopped reading its completion; it is cancelled");
                }
                if let Some(active) = self.slots[i].job.take() {
                    self.stats.active.fetch_sub(1, Ordering::SeqCst);
                    self.retire(finish(active, FinishReason::Cancelled));
                }
                false
            }
        }
    }

    /// Hands over what finished requests still hold; drops those taken, gone or stalled.
    fn drain(&mut self) {
        let stall = self.parts.stall_timeout;
        self.draining.retain_mut(|o| o.flush() == Flow::Behind && !o.stalled(stall));
    }

    /// Keeps a finished request's outbox until its consumer takes the rest.
    fn retire(&mut self, outbox: Outbox) {
        if !outbox.is_empty() {
            self.draining.push(outbox);
        }
    }

    /// Puts a request in the best free slot.
    fn admit(&mut self, mut job: Job) {
        if job.out.is_cancelled() {
            // Stopped while it waited: it ends as cancelled without running.
            let timings = Timings { queued_ms: ms(job.enqueued.elapsed()), ..Default::default() };
            let done = Completion {
                text: String::new(),
                tool_calls: Vec::new(),
                finish_reason: FinishReason::Cancelled,
                usage: Usage::default(),
                timings,
            };
            self.end_unstarted(&job, StreamItem::Done(done));
            return;
        }
        let tokens = std::mem::take(&mut job.tokens);
        let context = self.parts.prompter.context;
        if tokens.is_empty() || tokens.len() >= context {
            // The prompter checked this before queueing; a model reloaded with another context in between is the
            // only way here.
            let e = Error::ContextLengthExceeded { prompt_tokens: tokens.len(), context };
            self.end_unstarted(&job, StreamItem::Error(e));
            return;
        }
        // The free slot whose cache shares the longest prefix with this prompt.
        let Some((index, shared)) = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.job.is_none())
            .map(|(i, s)| (i, common_prefix(s.cache.tokens(), &tokens)))
            .max_by_key(|(_, shared)| *shared)
        else {
            self.end_unstarted(&job, StreamItem::Error(Error::Engine("no free slot".into())));
            return;
        };
        // At least the last prompt token is run again, for its logits.
        let reuse = shared.min(tokens.len() - 1);
        let slot = &mut self.slots[index];
        slot.cache.truncate(reuse);
        let mut sampler = Sampler::new(&job.sampling);
        sampler.accept_all(&tokens);
        let mut stops = job.stop.clone();
        stops.extend(self.parts.prompter.template.stop_words());
        let tools = job.tools.as_ref().and_then(ToolCallParser::new);
        self.stats.active.fetch_add(1, Ordering::SeqCst);
        self.stats.cached_tokens.fetch_add(reuse, Ordering::Relaxed);
        slot.job = Some(Active {
            generation: Generation::new(&stops),
            outbox: Outbox::new(job.out.clone()),
            job,
            tokens,
            processed: reuse,
            cached: reuse,
            sampler,
            logits: None,
            tools,
            text: String::new(),
            tool_calls: Vec::new(),
            generated: 0,
            started: Instant::now(),
            prompt_done: None,
            first_token: None,
        });
    }

    /// Ends a request that never got a slot with its last item (`Done` or `Error`).
    fn end_unstarted(&mut self, job: &Job, last: StreamItem) {
        let mut outbox = Outbox::new(job.out.clone());
        outbox.send(last);
        self.retire(outbox);
    }

    /// Slot `i`'s next step: a token sampled and emitted, or the request finished. Returns the work it leaves
    /// for the passes: prompt to process ([`Engine::prefill`]) or a token to run ([`Engine::decode`]).
    fn step(&mut self, i: usize) -> Option<Work> {
        match self.try_step(i) {
            Ok(Step::Continue) => None,
            Ok(Step::Prompt) => Some(Work::Prompt),
            Ok(Step::Run(token)) => Some(Work::Run(token)),
            Ok(Step::Finished(reason)) => {
                if let Some(active) = self.slots[i].job.take() {
                    self.stats.active.fetch_sub(1, Ordering::SeqCst);
                    let outbox = finish(active, reason);
                    self.retire(outbox);
                }
                None
            }
            Err(e) => {
                self.fail(i, e);
                None
            }
        }
    }

    /// Ends slot `i`'s request with `e`. The cache may hold a half-written step: the slot starts over.
    fn fail(&mut self, i: usize, e: Error) {
        let slot = &mut self.slots[i];
        slot.cache.truncate(0);
        if let Some(mut active) = slot.job.take() {
            self.stats.active.fetch_sub(1, Ordering::SeqCst);
            active.outbox.send(StreamItem::Error(e));
            self.retire(active.outbox);
        }
    }

    /// Runs the next prompt chunks of `slots` in one forward pass, within [`PROMPT_BUDGET`] tokens: requests
    /// admitted first go first, so a burst of new requests gets its first tokens in arrival order rather than
    /// all of them late. A chunk that does not fit whole waits for the next pass (it is never cut: see
    /// [`PROMPT_CHUNK`]).
    fn prefill(&mut self, mut slots: Vec<usize>) {
        slots.sort_by_key(|&i| self.slots[i].job.as_ref().map(|a| a.started));
        let waiting: Vec<(usize, usize, usize)> = slots
            .into_iter()
            .filter_map(|i| self.slots[i].job.as_ref().map(|a| (i, a.processed, a.tokens.len() - 1)))
            .collect();
        let mut plan = plan_chunks(&waiting, PROMPT_BUDGET);
        if plan.is_empty() {
            return;
        }
        // In slot order, to pair chunks with caches.
        plan.sort_by_key(|&(i, _, _)| i);
        let mut chunks: Vec<&[u32]> = Vec::with_capacity(plan.len());
        let mut caches: Vec<&mut KvCache> = Vec::with_capacity(plan.len());
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let Some(&(_, from, to)) = plan.iter().find(|(p, _, _)| *p == i) else { continue };
            let Slot { cache, job } = slot;
            if let Some(a) = job.as_ref() {
                chunks.push(&a.tokens[from..to]);
                caches.push(cache);
            }
        }
        let result = self.parts.model.forward_chunks(&chunks, &mut caches);
        drop((chunks, caches));
        match result {
            Ok(()) => {
                for (i, from, to) in plan {
                    if let Some(a) = self.slots[i].job.as_mut() {
                        a.processed = to;
                    }
                    self.stats.prompt_tokens.fetch_add(to - from, Ordering::Relaxed);
                }
            }
            Err(e) => {
                let message = e.to_string();
                for (i, _, _) in plan {
                    self.fail(i, Error::Engine(message.clone()));
                }
            }
        }
    }

    /// Runs the next token of each decoding slot (`(slot, token)`, slots in increasing order) in one forward
    /// pass: the weights are read once for all of them. Each gets the logits it would get alone (on the CPU,
    /// bit for bit), so a seeded request repeats exactly whoever else is decoding.
    fn decode(&mut self, batch: &[(usize, u32)]) {
        let tokens: Vec<u32> = batch.iter().map(|&(_, t)| t).collect();
        let mut caches: Vec<&mut KvCache> = self
            .slots
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| batch.iter().any(|&(b, _)| b == *i))
            .map(|(_, s)| &mut s.cache)
            .collect();
        match self.parts.model.forward_batch(&tokens, &mut caches) {
            Ok(logits) => {
                for (&(i, _), logits) in batch.iter().zip(logits) {
                    if let Some(a) = self.slots[i].job.as_mut() {
                        a.logits = Some(logits);
                        a.prompt_done.get_or_insert_with(Instant::now);
                    }
                }
            }
            Err(e) => {
                // Every sequence of the pass is affected; each request gets the message.
                let message = e.to_string();
                for &(i, _) in batch {
                    self.fail(i, Error::Engine(message.clone()));
                }
            }
        }
    }

    fn try_step(&mut self, i: usize) -> Result<Step> {
        let tokenizer = &self.parts.prompter.tokenizer;
        let stats = &self.stats;
        let slot = &mut self.slots[i];
        let Some(a) = slot.job.as_mut() else { return Ok(Step::Continue) };
        if a.outbox.sender().is_cancelled() {
            return Ok(Step::Finished(FinishReason::Cancelled));
        }
        let last = a.tokens.len() - 1;
        if a.processed < last {
            return Ok(Step::Prompt);
        }
        if a.processed == last {
            // The prompt's last token runs in the decoding pass, as a generated token does: its logits then do not
            // depend on how much of the prompt came from the cache, so a seeded request repeats exactly.
            a.processed = a.tokens.len();
            stats.prompt_tokens.fetch_add(1, Ordering::Relaxed);
            return Ok(Step::Run(a.tokens[last]));
        }
        let Some(mut logits) = a.logits.take() else {
            return Err(Error::Engine("no logits to sample from".into()));
        };
        if slot.cache.len() >= slot.cache.capacity() {
            // No room to keep another token: prompt plus completion never exceed the context.
            return Ok(Step::Finished(FinishReason::Length));
        }
        let token = a.sampler.sample(&mut logits);
        a.sampler.accept(token);
        if a.first_token.is_none() {
            a.first_token = Some(Instant::now());
        }
        if tokenizer.is_end_of_generation(token) {
            return Ok(Step::Finished(FinishReason::Stop));
        }
        a.generated += 1;
        stats.generated_tokens.fetch_add(1, Ordering::Relaxed);
        let check = a.generation.push(tokenizer.token_piece(token, false));
        if !check.emit.is_empty() && !a.emit(check.emit) {
            return Ok(Step::Finished(FinishReason::Cancelled));
        }
        if check.stopped {
            return Ok(Step::Finished(FinishReason::Stop));
        }
        if a.job.max_tokens.is_some_and(|m| a.generated >= m) || slot.cache.len() + 1 >= slot.cache.capacity() {
            // The token just emitted fills the context (it is never run, so it needs no cache room).
            return Ok(Step::Finished(FinishReason::Length));
        }
        Ok(Step::Run(token))
    }
}

impl Active {
    /// Sends text that passed the stop strings: through the tool-call parser when there is one. `false` if the
    /// consumer is gone.
    fn emit(&mut self, text: String) -> bool {
        match self.tools.as_mut() {
            Some(parser) => {
                let parsed = parser.push(&text);
                self.deliver(parsed)
            }
            None => self.deliver(ToolParse { content: text, calls: Vec::new() }),
        }
    }

    fn deliver(&mut self, parsed: ToolParse) -> bool {
        if !parsed.content.is_empty() {
            self.text.push_str(&parsed.content);
            if !self.outbox.send(StreamItem::Delta(parsed.content)) {
                return false;
            }
        }
        for call in parsed.calls {
            self.tool_calls.push(call.clone());
            if !self.outbox.send(StreamItem::ToolCall(call)) {
                return false;
            }
        }
        true
    }
}

/// Sends the rest of the text (and of the tool calls) and the `Done` item; returns the outbox, which may still
/// hold some of them.
fn finish(mut a: Active, mut reason: FinishReason) -> Outbox {
    if reason != FinishReason::Cancelled {
        let rest = a.generation.finish();
        if !rest.emit.is_empty() {
            a.emit(rest.emit);
        }
        if let Some(parsed) = a.tools.as_mut().map(ToolCallParser::finish) {
            a.deliver(parsed);
        }
        reason = reason.with_tool_calls(!a.tool_calls.is_empty());
    } else if let Some(held) = a.tools.as_mut().map(ToolCallParser::abandon) {
        // Text held back as possible markup is still part of the reply.
        a.deliver(ToolParse { content: held, calls: Vec::new() });
    }
    let now = Instant::now();
    let prompt_done = a.prompt_done.unwrap_or(now);
    let prompt_n = (a.tokens.len() - a.cached) as u32;
    let prompt_ms = ms(prompt_done - a.started);
    let predicted_ms = ms(now - prompt_done);
    let timings = Timings {
        prompt_n,
        cache_n: a.cached as u32,
        prompt_ms,
        prompt_per_second: per_second(prompt_n, prompt_ms),
        predicted_n: a.generated,
        predicted_ms,
        predicted_per_second: per_second(a.generated, predicted_ms),
        time_to_first_token_ms: a.first_token.map_or(0.0, |t| ms(t - a.job.enqueued)),
        queued_ms: ms(a.started - a.job.enqueued),
    };
    let usage = Usage {
        prompt_tokens: a.tokens.len() as u32,
        completion_tokens: a.generated,
        total_tokens: a.tokens.len() as u32 + a.generated,
    };
    let done = Completion { text: a.text, tool_calls: a.tool_calls, finish_reason: reason, usage, timings };
    a.outbox.send(StreamItem::Done(done));
    a.outbox
}

/// The chunks a prompt pass runs, `(slot, from, to)`, given the requests with prompt left as `(slot, processed,
/// last)` in admission order: each its next chunk, up to the next multiple of [`PROMPT_CHUNK`] (never past the
/// prompt's last token, which a decoding pass runs), while `budget` tokens last. The first always runs; a later
/// chunk that does not fit whole is left for the next pass, never cut.
fn plan_chunks(waiting: &[(usize, usize, usize)], budget: usize) -> Vec<(usize, usize, usize)> {
    let mut left = budget;
    let mut plan = Vec::new();
    for &(slot, processed, last) in waiting {
        let end = ((processed / PROMPT_CHUNK + 1) * PROMPT_CHUNK).min(last);
        let n = end.saturating_sub(processed);
        if n == 0 || (n > left && !plan.is_empty()) {
            continue;
        }
        plan.push((slot, processed, end));
        left = left.saturating_sub(n);
    }
    plan
}

fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn per_second(n: u32, ms: f64) -> f64 {
    if ms > 0.0 { n as f64 * 1000.0 / ms } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::{PROMPT_BUDGET, PROMPT_CHUNK, plan_chunks};

    /// Chunks end at multiples of the chunk size or at the prompt's last token, whatever else waits (their
    /// ends change the rounding); the budget holds except for the first; a chunk that does not fit waits whole.
    #[test]
    fn prompt_chunks_end_at_fixed_places_and_share_the_budget() {
        assert_eq!(PROMPT_BUDGET, 2 * PROMPT_CHUNK, "the cases below assume two whole chunks per pass");
        let c = PROMPT_CHUNK;
        // A short prompt first leaves less than a chunk for the third: it waits rather than being cut.
        let plan = plan_chunks(&[(0, 0, 30), (1, 0, 600), (2, 0, 600), (3, 0, 20)], PROMPT_BUDGET);
        assert_eq!(plan, vec![(0, 0, 30), (1, 0, c), (3, 0, 20)]);
        // A prompt resumed from a cached prefix runs up to the next multiple, then whole chunks.
        assert_eq!(plan_chunks(&[(5, 37, 700)], PROMPT_BUDGET), vec![(5, 37, c)]);
        assert_eq!(plan_chunks(&[(5, c, 700)], PROMPT_BUDGET), vec![(5, c, 2 * c)]);
        assert_eq!(plan_chunks(&[(5, 2 * c, 700)], PROMPT_BUDGET), vec![(5, 2 * c, 2 * c + 188)]);
        // Nothing past the budget but the first, and nothing for a prompt with only its last token left.
        assert_eq!(plan_chunks(&[(1, 0, 600), (2, 0, 600)], 100), vec![(1, 0, c)]);
        assert_eq!(plan_chunks(&[(1, 10, 10), (2, 0, 5)], PROMPT_BUDGET), vec![(2, 0, 5)]);
        for (_, from, to) in plan_chunks(&[(0, 3, 1000), (1, 250, 260), (2, 255, 900)], PROMPT_BUDGET) {
            assert!(to > from && (to % c == 0 || to == 260), "{from}..{to}");
        }
    }
}
