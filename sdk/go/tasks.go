package yao

// Concurrency (docs/ABI.md §10, the imports `tasks` and `sleep`): processes
// in parallel with gou's All/Any/Race rules, background jobs, delayed calls,
// and a sleep that honours the call's deadline.
//
//	results, err := yao.All(yao.NewTask("scripts.a.Slow", 10), yao.NewTask("models.user.Find", 1))
//	job, err := yao.StartJob("scripts.report.Build", 42)
//	for running, _ := job.Running(10); running; running, _ = job.Running(10) {}
//	report, err := job.Data()

// Task is one process call of All, Any or Race.
type Task struct {
	Process string `json:"process"`
	// Args is the args array (nil: none).
	Args []any `json:"args"`
	// Timeout is this task's own timeout in seconds; 0: the caller's deadline.
	Timeout float64 `json:"timeout,omitempty"`
}

// NewTask is the task that calls process with args.
func NewTask(process string, args ...any) Task {
	if args == nil {
		args = []any{}
	}
	return Task{Process: process, Args: args}
}

// WithTimeout gives the task its own timeout, in seconds.
func (t Task) WithTimeout(seconds float64) Task {
	t.Timeout = seconds
	return t
}

// TaskResult is one task's outcome, in task order: Data on success; Error
// and Code on failure; all empty for a task not finished when Any or Race
// returned.
type TaskResult struct {
	Data  any    `json:"data"`
	Index int    `json:"index"`
	Error string `json:"error,omitempty"`
	Code  int    `json:"code,omitempty"`
}

// All runs every task in parallel and returns once all have finished.
func All(tasks ...Task) ([]TaskResult, error) { return parallel("All", tasks) }

// Any returns at the first success (no error and a non-nil result), or once
// all have finished; the others are left to finish.
func Any(tasks ...Task) ([]TaskResult, error) { return parallel("Any", tasks) }

// Race returns at the first task to finish, success or failure; the others
// are left to finish.
func Race(tasks ...Task) ([]TaskResult, error) { return parallel("Race", tasks) }

func parallel(method string, tasks []Task) ([]TaskResult, error) {
	if len(tasks) == 0 {
		return []TaskResult{}, nil
	}
	list := make([]any, len(tasks))
	for i, t := range tasks {
		task := map[string]any{"process": t.Process, "args": t.Args}
		if t.Args == nil {
			task["args"] = []any{}
		}
		if t.Timeout > 0 {
			task["timeout"] = t.Timeout
		}
		list[i] = task
	}
	// Through any, so Data decodes as everywhere else in the SDK (integers
	// as int64, maps as map[string]any).
	answer, err := tasksAs[[]any](method, []any{list})
	if err != nil {
		return nil, err
	}
	results := make([]TaskResult, len(answer))
	for i, v := range answer {
		fields, _ := v.(map[string]any)
		r := TaskResult{Data: fields["data"], Index: i}
		if index, ok := fields["index"].(int64); ok {
			r.Index = int(index)
		}
		r.Error, _ = fields["error"].(string)
		if code, ok := fields["code"].(int64); ok {
			r.Code = int(code)
		}
		results[i] = r
	}
	return results, nil
}

// Sleep blocks ms milliseconds; a sleep past the call's deadline ends the
// call with 408 there.
func Sleep(ms int64) error {
	_, err := answered(hostSleep(ms))
	return err
}

// After runs process with args after ms milliseconds, in the background;
// nothing comes back.
func After(ms int64, process string, args ...any) error {
	if args == nil {
		args = []any{}
	}
	_, err := tasksAs[any]("After", []any{ms, process, args})
	return err
}

// Job is a process running in the background (gou's Job).
type Job struct{ ID uint64 }

// StartJob starts process with args in the background.
func StartJob(process string, args ...any) (Job, error) {
	if args == nil {
		args = []any{}
	}
	id, err := tasksAs[uint64]("Job", []any{process, args})
	return Job{ID: id}, err
}

// Running tells whether the job still runs, after waiting up to waitMs
// (at most 1000) for it to finish.
func (j Job) Running(waitMs uint64) (bool, error) {
	return tasksAs[bool]("Running", []any{j.ID, waitMs})
}

// Data is the job's result (nil while it runs or when it failed); the job
// is then forgotten.
func (j Job) Data() (any, error) { return tasksAs[any]("Data", []any{j.ID}) }

// Cancel stops the job and forgets it.
func (j Job) Cancel() error {
	_, err := tasksAs[any]("Cancel", []any{j.ID})
	return err
}

func tasksAs[T any](method string, args []any) (T, error) {
	answer, err := invoke("tasks "+method, args, func(encoded []byte) ([]byte, bool) { return hostTasks(method, encoded) })
	return decodeAnswer[T]("tasks "+method, answer, err)
}
