package soak

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is one running child process.
type child struct {
	name string // unique per start: "<role>-<slot>.<generation>"
	role string
	slot int
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and its output is read
}

// kill is a SIGKILL the orchestrator sent.
type kill struct {
	proc string
	at   time.Time
	// final: sent at the end to a process that did not stop on SIGTERM.
	final bool
}

// procs starts, kills and restarts the child processes and collects what
// they report.
type procs struct {
	exe     string
	env     []string
	logDir  string
	mu      sync.Mutex
	running map[int]*child // by slot
	gen     map[int]int
	kills   []kill
	sweeps  sweepResult
	sweepN  int
	sweepEr map[string]int
	tokens  map[string]tokenStats // last report of each process
	errLogs map[string]int        // ERROR lines by process
}

func newProcs(exe string, env []string, logDir string) *procs {
	return &procs{exe: exe, env: env, logDir: logDir, running: map[int]*child{}, gen: map[int]int{},
		sweepEr: map[string]int{}, tokens: map[string]tokenStats{}, errLogs: map[string]int{}}
}

// start starts the process of slot (slot 0 is the sweep, others TokenSource
// callers).
func (p *procs) start(slot int) error {
	role := roleTokens
	if slot == 0 {
		role = roleSweep
	}
	p.mu.Lock()
	p.gen[slot]++
	name := fmt.Sprintf("%s-%d.%d", role, slot, p.gen[slot])
	p.mu.Unlock()

	cmd := exec.Command(p.exe)
	cmd.Env = append(append(os.Environ(), p.env...), envRole+"="+role, envProc+"="+name)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(p.logDir, name+".log"))
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, role: role, slot: slot, cmd: cmd, done: make(chan struct{})}
	var reads sync.WaitGroup
	reads.Add(2)
	go func() { defer reads.Done(); p.readReports(name, stdout) }()
	go func() { defer reads.Done(); p.readLogs(name, stderr, logf) }()
	go func() {
		reads.Wait()
		_ = cmd.Wait()
		logf.Close()
		close(c.done)
	}()
	p.mu.Lock()
	p.running[slot] = c
	p.mu.Unlock()
	return nil
}

// readReports reads a child's report lines.
func (p *procs) readReports(name string, r interface{ Read([]byte) (int, error) }) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var rep report
		if json.Unmarshal(sc.Bytes(), &rep) != nil {
			continue
		}
		p.mu.Lock()
		if rep.Sweep != nil {
			addSweep(&p.sweeps, *rep.Sweep)
			p.sweepN++
		}
		if rep.SweepErr != "" {
			p.sweepEr[rep.SweepErr]++
		}
		if rep.Tokens != nil {
			p.tokens[name] = *rep.Tokens
		}
		p.mu.Unlock()
	}
}

// readLogs copies a child's log to its file and counts ERROR lines.
func (p *procs) readLogs(name string, r interface{ Read([]byte) (int, error) }, f *os.File) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(f, line)
		if strings.Contains(line, `"level":"ERROR"`) {
			p.mu.Lock()
			p.errLogs[name]++
			p.mu.Unlock()
		}
	}
}

// startAll starts the sweep and n TokenSource processes.
func (p *procs) startAll(n int) error {
	for slot := 0; slot <= n; slot++ {
		if err := p.start(slot); err != nil {
			return err
		}
	}
	return nil
}

// killAndRestart SIGKILLs the process of slot, records it, waits until it is
// gone and starts its successor. It returns the killed process's name.
func (p *procs) killAndRestart(slot int) (string, error) {
	p.mu.Lock()
	c := p.running[slot]
	p.mu.Unlock()
	if c == nil {
		return "", fmt.Errorf("no process in slot %d", slot)
	}
	at := time.Now()
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	p.mu.Lock()
	p.kills = append(p.kills, kill{proc: c.name, at: at})
	p.mu.Unlock()
	<-c.done
	return c.name, p.start(slot)
}

// stopAll sends SIGTERM to every process, waits up to grace for them to
// finish their work in flight, and SIGKILLs (and records) the ones still
// running.
func (p *procs) stopAll(grace time.Duration) {
	p.mu.Lock()
	var all []*child
	for _, c := range p.running {
		all = append(all, c)
	}
	p.running = map[int]*child{}
	p.mu.Unlock()
	for _, c := range all {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(grace)
	for _, c := range all {
		select {
		case <-c.done:
			continue
		case <-deadline:
		}
		for _, c := range all {
			select {
			case <-c.done:
			default:
				p.mu.Lock()
				p.kills = append(p.kills, kill{proc: c.name, at: time.Now(), final: true})
				p.mu.Unlock()
				_ = c.cmd.Process.Signal(syscall.SIGKILL)
				<-c.done
			}
		}
		return
	}
}

// killedAt returns when proc was SIGKILLed, if it was.
func (p *procs) killedAt(proc string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range p.kills {
		if k.proc == proc {
			return k.at, true
		}
	}
	return time.Time{}, false
}
