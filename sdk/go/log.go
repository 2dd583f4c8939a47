package yao

import "fmt"

// Level is a log level, as yaowasm numbers them.
type Level uint32

const (
	LevelTrace Level = 0
	LevelDebug Level = 1
	LevelInfo  Level = 2
	LevelWarn  Level = 3
	LevelError Level = 4
)

func (l Level) String() string {
	switch l {
	case LevelTrace:
		return "trace"
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	case LevelError:
		return "error"
	}
	return fmt.Sprintf("level(%d)", uint32(l))
}

// Logger writes to Yao's log. Use the package's Log value:
//
//	yao.Log.Info("saving user ", id)
//	yao.Log.Warnf("user %d has no email", id)
//
// The plain methods format their arguments as fmt.Sprint does, the f
// methods as fmt.Sprintf.
type Logger struct{}

// Log is the script's logger.
var Log Logger

func (Logger) Trace(args ...any) { hostLog(LevelTrace, fmt.Sprint(args...)) }
func (Logger) Debug(args ...any) { hostLog(LevelDebug, fmt.Sprint(args...)) }
func (Logger) Info(args ...any)  { hostLog(LevelInfo, fmt.Sprint(args...)) }
func (Logger) Warn(args ...any)  { hostLog(LevelWarn, fmt.Sprint(args...)) }
func (Logger) Error(args ...any) { hostLog(LevelError, fmt.Sprint(args...)) }

func (Logger) Tracef(format string, args ...any) { hostLog(LevelTrace, fmt.Sprintf(format, args...)) }
func (Logger) Debugf(format string, args ...any) { hostLog(LevelDebug, fmt.Sprintf(format, args...)) }
func (Logger) Infof(format string, args ...any)  { hostLog(LevelInfo, fmt.Sprintf(format, args...)) }
func (Logger) Warnf(format string, args ...any)  { hostLog(LevelWarn, fmt.Sprintf(format, args...)) }
func (Logger) Errorf(format string, args ...any) { hostLog(LevelError, fmt.Sprintf(format, args...)) }

// At writes msg at the given level, unformatted.
func (Logger) At(level Level, msg string) { hostLog(level, msg) }
