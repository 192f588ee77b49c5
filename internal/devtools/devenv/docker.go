package devenv

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// dockerImage is the official DynamoDB Local image. Its entrypoint is java;
// it listens on 8000.
const dockerImage = "amazon/dynamodb-local"

// dockerProbeTimeout bounds `docker info` when looking for a Docker engine.
const dockerProbeTimeout = 3 * time.Second

// dockerContainer is DynamoDB Local run in a Docker container (started with
// --rm, so stopping it removes it).
type dockerContainer struct {
	id string
}

// dockerAvailable reports whether a Docker engine answers `docker info`
// within dockerProbeTimeout.
func dockerAvailable(ctx context.Context) bool {
	docker, err := exec.LookPath("docker")
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, dockerProbeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, docker, "info")
	cmd.WaitDelay = time.Second
	return cmd.Run() == nil
}

// startDocker runs DynamoDB Local in a detached container publishing its
// port 8000 on 127.0.0.1:port. Pulling the image, if needed, happens here
// and is bounded by ctx only.
func startDocker(ctx context.Context, port int) (*dockerContainer, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", "run", "--rm", "-d",
		"-p", "127.0.0.1:"+strconv.Itoa(port)+":8000",
		dockerImage, "-jar", "DynamoDBLocal.jar", "-inMemory")
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("devenv: docker run %s: %w: %s",
			dockerImage, err, strings.TrimSpace(stderr.String()))
	}
	id := strings.TrimSpace(stdout.String())
	if id == "" {
		return nil, fmt.Errorf("devenv: docker run %s printed no container id: %s",
			dockerImage, strings.TrimSpace(stderr.String()))
	}
	return &dockerContainer{id: id}, nil
}

// exited returns nil: the container is not watched.
func (c *dockerContainer) exited() <-chan struct{} { return nil }

func (c *dockerContainer) exitErr() error { return fmt.Errorf("container %.12s stopped", c.id) }

// logs returns the last lines of `docker logs`.
func (c *dockerContainer) logs() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "logs", "--tail", strconv.Itoa(tailLines), c.id)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(docker logs %.12s: %v) %s", c.id, err, out)
	}
	return string(out)
}

// stop stops the container (which --rm then removes) and waits until it has
// exited. A container that is already gone is not an error.
func (c *dockerContainer) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "stop", "-t", "2", c.id)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil && !strings.Contains(string(out), "No such container") {
		return fmt.Errorf("docker stop %.12s: %w: %s", c.id, err, strings.TrimSpace(string(out)))
	}
	return nil
}
