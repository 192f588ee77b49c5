package devenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// Files of a DynamoDB Local installation (see `make dynamodb-local`).
const (
	jarName   = "DynamoDBLocal.jar"
	jarLibDir = "DynamoDBLocal_lib"
)

// stopGrace is how long a stopped process may take to exit after SIGTERM
// before it is killed.
const stopGrace = 5 * time.Second

// jarProcess is DynamoDB Local run by java in its own process group.
type jarProcess struct {
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{} // closed once cmd.Wait returned
	err  error         // result of cmd.Wait, set before done is closed
}

// jarDir returns the folder that must hold DynamoDBLocal.jar: dir, else
// $DYNAMODB_LOCAL_DIR, else <module root>/.cache/dynamodb-local. It fails
// with installation instructions when the jar is not there.
func jarDir(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv("DYNAMODB_LOCAL_DIR")
	}
	if dir == "" {
		root, err := ModuleRoot(".")
		if err != nil {
			return "", fmt.Errorf("devenv: locating DynamoDB Local (set DYNAMODB_LOCAL_DIR): %w", err)
		}
		dir = filepath.Join(root, ".cache", "dynamodb-local")
	}
	jar := filepath.Join(dir, jarName)
	if _, err := os.Stat(jar); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("devenv: DynamoDB Local is not installed (%s not found): "+
				"run `make dynamodb-local` (or `make test`/`make run`, which install it)", jar)
		}
		return "", fmt.Errorf("devenv: DynamoDB Local: %w", err)
	}
	return dir, nil
}

// startJar starts `java -jar DynamoDBLocal.jar -inMemory -port port` in dir,
// in its own process group.
func startJar(dir string, port int) (*jarProcess, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("devenv: java is needed to run DynamoDB Local "+
			"(install Java 17, e.g. apt-get install -y openjdk-17-jre-headless): %w", err)
	}
	cmd := exec.Command(java, "-Djava.library.path="+jarLibDir,
		"-jar", jarName, "-inMemory", "-port", strconv.Itoa(port))
	cmd.Dir = dir
	p, err := startProcess(cmd)
	if err != nil {
		return nil, fmt.Errorf("devenv: starting DynamoDB Local in %s: %w", dir, err)
	}
	return p, nil
}

// startProcess starts cmd in its own process group, its output kept in a
// tail buffer, and watches for its exit.
func startProcess(cmd *exec.Cmd) (*jarProcess, error) {
	p := &jarProcess{cmd: cmd, out: newTailBuffer(tailLines), done: make(chan struct{})}
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	p.cmd.SysProcAttr = processGroupAttr()
	// Do not hang in Wait if a stray child keeps the output pipe open.
	p.cmd.WaitDelay = 2 * time.Second
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *jarProcess) exited() <-chan struct{} { return p.done }

func (p *jarProcess) exitErr() error {
	if p.err == nil {
		return errors.New("exit status 0")
	}
	return p.err
}

func (p *jarProcess) logs() string { return p.out.String() }

// stop terminates the process group (SIGTERM, then SIGKILL after stopGrace)
// and waits for java to exit.
func (p *jarProcess) stop() error {
	pid := p.cmd.Process.Pid
	select {
	case <-p.done:
	default:
		_ = signalGroup(p.cmd.Process, false)
		select {
		case <-p.done:
		case <-time.After(stopGrace):
			_ = signalGroup(p.cmd.Process, true)
			<-p.done
		}
	}
	// Children that outlived java share its process group.
	_ = killGroupID(pid)
	return nil
}
