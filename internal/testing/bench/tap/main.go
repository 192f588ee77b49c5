// Command tap times a Lambda bootstrap's cold start from outside, under the
// Runtime Interface Emulator: the cold-start benchmark (make bench) gives
// the emulator tap as the bootstrap, and tap runs the real one
// ($BENCH_TAP_BOOTSTRAP) with AWS_LAMBDA_RUNTIME_API pointing at a
// pass-through proxy of the emulator's Runtime API. It appends to
// $BENCH_TAP_OUT one line per event, "<event> <unix nanoseconds>":
//
//	exec      just before the bootstrap is started
//	next      the bootstrap's first GET /runtime/invocation/next (init done)
//	response  its first POST .../response or .../error (invocation done)
//
// so init = next - exec and first invocation = response - next. The proxy
// adds one loopback hop to those two requests only. Used only by the
// benchmark.
package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	out, err := os.OpenFile(os.Getenv("BENCH_TAP_OUT"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fail(err)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	record := func(event string, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if !seen[event] {
			seen[event] = true
			fmt.Fprintf(out, "%s %d\n", event, at.UnixNano())
		}
	}

	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: api})
	proxy.FlushInterval = -1
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/invocation/next"):
			record("next", now)
		case r.Method == http.MethodPost && (strings.HasSuffix(r.URL.Path, "/response") || strings.HasSuffix(r.URL.Path, "/error")):
			record("response", now)
		}
		proxy.ServeHTTP(w, r)
	}))

	cmd := exec.Command(os.Getenv("BENCH_TAP_BOOTSTRAP"))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BENCH_TAP_") && !strings.HasPrefix(kv, "AWS_LAMBDA_RUNTIME_API=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	record("exec", time.Now())
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	out.Close()
	if ee, ok := err.(*exec.ExitError); ok {
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "tap:", err)
	os.Exit(1)
}
