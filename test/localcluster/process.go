package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// stopGrace is how long a child gets between SIGTERM and SIGKILL.
const stopGrace = 5 * time.Second

// child is one process the cluster started, with its log file.
type child struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	log     *os.File
	done    chan struct{}
}

// startChild runs path with args, writing its output to logs/<name>.log.
// The child gets its own process group, so a Ctrl-C meant for the launcher
// does not reach it before the launcher stops it in order, and it is killed
// if the process that started it dies without stopping it.
func (c *Cluster) startChild(name, path string, args ...string) (*child, error) {
	logPath := c.path("logs", name+".log")
	f, err := createLog(logPath)
	if err != nil {
		return nil, err
	}

	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}

	ch := &child{name: name, logPath: logPath, cmd: cmd, log: f, done: make(chan struct{})}
	go ch.wait()
	c.children = append(c.children, ch)
	c.progress("started %s (pid %d), log %s", name, cmd.Process.Pid, logPath)

	return ch, nil
}

// wait reaps the child and closes its log.
func (ch *child) wait() {
	_ = ch.cmd.Wait()
	_ = ch.log.Close()
	close(ch.done)
}

// child returns the started child with the given name.
func (c *Cluster) child(name string) *child {
	for _, ch := range c.children {
		if ch.name == name {
			return ch
		}
	}

	return nil
}

// exited tells whether the child has ended.
func (ch *child) exited() bool {
	select {
	case <-ch.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, then SIGKILL after stopGrace, and waits for the exit.
func (ch *child) stop() error {
	if ch.exited() {
		return nil
	}
	_ = ch.cmd.Process.Signal(syscall.SIGTERM)

	select {
	case <-ch.done:
		return nil
	case <-time.After(stopGrace):
	}

	if err := ch.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s (pid %d): %w", ch.name, ch.cmd.Process.Pid, err)
	}
	<-ch.done

	return nil
}

// failure describes a child that did not come up, with its log tail.
func (ch *child) failure(what string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s %s: %w", what, ch.name, err)
	}

	state := "running"
	if ch.exited() {
		state = ch.cmd.ProcessState.String()
	}

	return fmt.Errorf("%s %s (%s): %w\n%s", what, ch.name, state, err, logTail(ch.name, ch.logPath))
}

// createLog creates (or empties) a log file.
func createLog(path string) (*os.File, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}

	return f, nil
}

// logTailLines is how much of a log an error message carries.
const logTailLines = 25

// logTail returns the last lines of a log, headed by its name.
func logTail(name, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("--- %s log unreadable: %v", name, err)
	}

	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	lines = lines[max(0, len(lines)-logTailLines):]

	return fmt.Sprintf("--- last lines of %s (%s):\n%s", name, path, strings.Join(lines, "\n"))
}

// freePort asks the kernel for a loopback port that is free right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = l.Close() }()

	return l.Addr().(*net.TCPAddr).Port, nil
}

// poll calls check every quarter second until it is done, fails, the
// timeout passes or ctx ends.
func poll(ctx context.Context, timeout time.Duration, check wait.ConditionWithContextFunc) error {
	return wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, check)
}
