package workers

import "time"

// Worker is one worker process as its gateway drives it: the gateway
// speaks its protocol, the Pool decides when it starts, what work it gets
// and when it goes. J is the gateway's unit of work, one request.
//
// The Pool calls Assign, Progress, Detach and Retire with its lock held:
// they must not block, nor call back into the Pool. A Worker is a
// constraint, comparable: the gateway's worker is a pointer.
type Worker[J any] interface {
	comparable
	// Process is the child the worker runs in: the Pool awaits, signals
	// and kills it through it, and learns from its end that the worker is
	// gone. A gateway that finds its worker broken kills its Process.
	Process() *Process
	// Ready is closed once the worker has said it is ready (its
	// handshake).
	Ready() <-chan struct{}
	// Assign gives the worker a job. It is the worker's until the gateway
	// reports it done (Pool.Done) or Detach takes it back.
	Assign(j J)
	// Progress changes whenever the worker gets on with its work (starts
	// a job, answers one): a worker holding jobs whose Progress stays the
	// same past Config.Timeout is stuck.
	Progress() uint64
	// Detach takes back the jobs the worker holds, once it died (why is
	// CauseCrash) or was found stuck (CauseTimeout). It ends those that
	// cannot run elsewhere (the one it was running fails, in the way why
	// says) and appends the others, in order, to again. From then on the
	// worker ignores what it hears about them.
	Detach(why Cause, again []J) []J
	// Retire says that the worker holds no job and will get none: it
	// should exit, within Config.RetireGrace, or it is killed.
	Retire()
}

// Job is the gateway's unit of work as the Pool sees it.
type Job interface {
	// Fail ends a job no worker took: the Pool lets go of it.
	Fail(why Refusal)
	// Size weighs the job against Config.BatchBytes.
	Size() int
	// Arrival is when the request arrived at nave (its first byte, or
	// the read that brought its head): the queue wait a Meter counts runs
	// from it to the moment a worker takes the job. Zero: not counted.
	Arrival() time.Time
}

// A Waiter is a Job that wants to hear, once, that it has waited long in
// the queue (a tick of the Config.Timeout watch: a tenth of the timeout,
// at most a second): its gateway may then watch whether its client is
// still there, and Withdraw it if not. Watching every queued job would
// cost each a watch, and queueing is the usual path of a busy pool.
type Waiter interface {
	WaitedLong()
}

// Cause is why a worker leaves service: the reasons a restart is counted
// by.
type Cause uint8

const (
	CauseCrash   Cause = iota + 1 // it exited, or its gateway found it broken
	CauseTimeout                  // stuck on its work past Config.Timeout
	CauseRecycle                  // it served its Config.MaxJobs
	CauseReload                   // a new generation replaced it
	CauseStop                     // the Pool stopped
)

func (c Cause) String() string {
	switch c {
	case CauseCrash:
		return "crash"
	case CauseTimeout:
		return "timeout"
	case CauseRecycle:
		return "recycle"
	case CauseReload:
		return "reload"
	case CauseStop:
		return "stop"
	}
	return "unknown"
}

// Refusal is why a job no worker took fails.
type Refusal uint8

const (
	RefusedWaited  Refusal = iota + 1 // it waited in the backlog past Config.Timeout
	RefusedStopped                    // the Pool stopped first
)

func (r Refusal) String() string {
	switch r {
	case RefusedWaited:
		return "waited"
	case RefusedStopped:
		return "stopped"
	}
	return "unknown"
}

// state is where a worker is in its life.
type state uint8

const (
	stateStarting state = iota // ready, not yet in its slot
	stateActive                // in its slot: takes work
	stateRetiring              // takes no more work; exits once it has none
	stateStuck                 // past the deadline: its jobs taken back; killed once replaced
	stateDead                  // its process ended
)

// member is the Pool's record of one worker.
type member[J Job, W Worker[J]] struct {
	w    W
	proc *Process
	id   int
	slot int
	gen  int // the code generation it loaded

	// Guarded by the Pool's mu.
	state      state
	jobs       int // assigned and not done
	served     int // jobs done
	limit      int // recycle after this many; 0 never
	recycling  bool
	progress   uint64    // Worker.Progress when last read
	progressAt time.Time // when progress last changed while the worker held jobs; zero while it holds none
	started    time.Time // when it said it was ready
	phase      phase     // its part in the busy and idle worker-seconds
	since      time.Time // when it entered phase
}
