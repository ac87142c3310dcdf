// Package workers supervises the child processes nave's gateways run
// (WSGI today, ASGI next), once for both.
//
// A Process is one child: it starts with the descriptors the gateway
// hands it, logs its output line by line with its id once it is ready and
// keeps what it printed before (the traceback of an app that failed to
// import), is reaped, and is killed at most once.
//
// A Pool supervises a gateway's workers: it starts one per slot and waits
// for each to say it is ready within a start timeout; restarts a worker
// that dies, with capped back-off while they keep failing; recycles a
// worker after its MaxJobs (plus jitter); reloads by starting a whole new
// generation first, keeping the old one when the new one fails to start;
// stops by draining; and replaces a worker that holds jobs and makes no
// progress past the timeout. It dispatches the gateway's jobs (requests):
// to the least loaded worker below its concurrency limit, or, for workers
// that run their jobs in order, as a batch to an idle one; beyond that
// they wait in a bounded backlog. The gateway supplies how to start a
// worker and a small Worker (Assign, Progress, Detach, Retire) that speaks
// its protocol, and reports each job done.
//
// Files: process.go (a Process), backoff.go (restart pacing), pool.go
// (the Pool's configuration and lifecycle: start, reload, stop),
// worker.go (what the Pool asks of a gateway's worker and job, and its
// record of each worker), dispatch.go (jobs to workers, the backlog),
// supervise.go (spawn, readiness, slots, deaths, restarts, retirement),
// deadline.go (the backlog timeout and stuck workers), queue.go (the
// bounded backlog), stats.go (the figures: workers by state, busy and
// idle worker-seconds, queue depth and wait, restarts by cause).
//
// A Meter keeps an app's figures across the pools that serve it in turn
// (a reload that changes the app starts a new Pool beside the old); its
// Snapshot, and a Pool's Stats with each worker listed, are what the
// metrics exposition and the status page read. The Pool counts them in
// the dispatch it does anyway, under its lock: a clock read and atomic
// adds, no allocation.
//
// What the processes speak and what a job is belongs to the gateway: this
// package knows nothing of HTTP, WSGI or ASGI. It imports the standard
// library and internal/metrics (for its lock-free histogram).
package workers
