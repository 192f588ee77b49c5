package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gotoconnector/gotoconnector/internal/devtools/devenv"
	"github.com/gotoconnector/gotoconnector/internal/devtools/procfs"
)

// chromiumPath is Debian's chromium, which `make chromium` installs.
const chromiumPath = "/usr/bin/chromium"

// Step timeouts. The whole test has testBudget; every step has its own,
// shorter bound so that a hang says where it happened.
const (
	testBudget    = 55 * time.Second
	stackTimeout  = 35 * time.Second
	browserStart  = 15 * time.Second
	stepTimeout   = 10 * time.Second
	processesGone = 5 * time.Second
)

// requireChromium skips the test without Chromium, or fails it on CI.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		msg := fmt.Sprintf("Chromium is missing (%v): run `make chromium` to install Debian's chromium", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// budget returns a context that ends testBudget from now, or a little before
// the test binary's deadline, whichever is first.
func budget(t *testing.T) context.Context {
	t.Helper()
	deadline := time.Now().Add(testBudget)
	if d, ok := t.Deadline(); ok && d.Add(-2*time.Second).Before(deadline) {
		deadline = d.Add(-2 * time.Second)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	t.Cleanup(cancel)
	return ctx
}

// syncBuffer collects Chromium's output, which arrives from another
// goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns the output without the noise of a container without D-Bus
// and of the Debian launcher's /dev/shm check.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var keep []string
	for _, line := range strings.Split(b.buf.String(), "\n") {
		if line == "" || strings.Contains(line, ":ERROR:dbus/") || strings.Contains(line, "unexpected operator") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// startBrowser starts headless Chromium with a fresh profile and returns a
// context of the running browser. On cleanup it closes the browser, waits for
// the process to exit and checks that no process of the browser's tree is
// left.
func startBrowser(t *testing.T, parent context.Context) context.Context {
	t.Helper()
	profile := t.TempDir() // removed after the cleanups below
	out := &syncBuffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // root in a container
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1000, 700),
		chromedp.CombinedOutput(out),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)

	// The first Do starts the browser and ties its life to ctx, so the
	// start is bounded by a timer that cancels ctx rather than by a
	// context of its own.
	watchdog := time.AfterFunc(browserStart, cancelBrowser)
	err := chromedp.Do(ctx)
	stopped := watchdog.Stop()
	if err != nil || !stopped {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("starting Chromium (within %v): %v\nChromium output:\n%s", browserStart, err, out.String())
	}

	var tree []procfs.Proc
	if p := chromedp.FromContext(ctx).Browser.Process(); p != nil {
		t.Logf("Chromium %s started, pid %d, profile %s", chromiumPath, p.Pid, profile)
		tree = []procfs.Proc{procfs.Of(p.Pid)}
	}
	t.Cleanup(func() {
		// The tree as it is now: renderers and helpers started since.
		if len(tree) > 0 {
			tree = procfs.Tree(tree[0].PID)
		}
		cancelBrowser()
		cancelAlloc() // waits for the browser process to exit
		if left := waitGone(tree, processesGone); len(left) > 0 {
			for _, p := range left {
				_ = syscall.Kill(p.PID, syscall.SIGKILL)
			}
			t.Errorf("Chromium processes still running %v after the browser was closed; killed them", left)
		} else {
			t.Logf("Chromium closed; its %d processes are gone", len(tree))
		}
		if t.Failed() {
			t.Logf("Chromium output:\n%s", out.String())
		}
	})
	return ctx
}

// waitGone waits until none of procs runs (or is an unreaped zombie) and
// returns those still there after d.
func waitGone(procs []procfs.Proc, d time.Duration) []procfs.Proc {
	deadline := time.Now().Add(d)
	for {
		var left []procfs.Proc
		for _, p := range procs {
			if p.Running() {
				left = append(left, p)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// newTab opens a tab in a fresh browser context (its own cookie jar) and
// records which binding cookies the browser attached to, or withheld from,
// each request.
func newTab(t *testing.T, browser context.Context) (context.Context, *cookieLog) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	watchdog := time.AfterFunc(stepTimeout, cancel)
	err := chromedp.Do(ctx)
	if !watchdog.Stop() && err == nil {
		err = context.DeadlineExceeded
	}
	if err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	log := &cookieLog{}
	if err := chromedp.Listen(ctx, log.listen); err != nil {
		t.Fatalf("listening to the tab: %v", err)
	}
	return ctx, log
}

// cookieLog records, from Network.requestWillBeSentExtraInfo, the binding
// cookies the browser considered for each request (each hop of a redirect
// chain) and why it withheld them.
type cookieLog struct {
	mu      sync.Mutex
	entries []cookieUse
}

type cookieUse struct {
	Host    string
	Name    string
	Blocked []network.CookieBlockedReason
}

func (u cookieUse) String() string {
	if len(u.Blocked) == 0 {
		return fmt.Sprintf("%s sent to %s", u.Name, u.Host)
	}
	return fmt.Sprintf("%s withheld from %s (%v)", u.Name, u.Host, u.Blocked)
}

func (l *cookieLog) listen(ev any) {
	e, ok := ev.(*network.EventRequestWillBeSentExtraInfo)
	if !ok {
		return
	}
	host, _ := e.Headers["Host"].(string)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range e.AssociatedCookies {
		if c.Cookie != nil && strings.HasPrefix(c.Cookie.Name, bindingCookiePrefix) {
			l.entries = append(l.entries, cookieUse{Host: host, Name: c.Cookie.Name, Blocked: c.BlockedReasons})
		}
	}
}

// take returns the entries recorded so far and forgets them.
func (l *cookieLog) take() []cookieUse {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries
	l.entries = nil
	return e
}

// bindingCookiePrefix is the prefix of the connector's binding cookies
// (internal/connect).
const bindingCookiePrefix = "goto_connect_"

// bindingCookies returns the binding cookies the browser holds for url.
func bindingCookies(t *testing.T, ctx context.Context, url string) []*network.Cookie {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Call(sctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		t.Fatalf("reading the browser's cookies for %s: %v", url, err)
	}
	var out []*network.Cookie
	for _, c := range res.Cookies {
		if strings.HasPrefix(c.Name, bindingCookiePrefix) {
			out = append(out, c)
		}
	}
	return out
}

// do runs actions with a step timeout, failing the test with what.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// run runs one action with a step timeout and returns its value.
func run[T any](t *testing.T, ctx context.Context, what string, action chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, action)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// screenshot saves a PNG of the whole page as artifacts/<name>.png at the
// module root and logs its path.
func screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	png := run(t, ctx, "taking a screenshot", chromedp.FullScreenshot(100))
	dir := filepath.Join(moduleRoot(t), "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("creating %s: %v", dir, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("saving the screenshot: %v", err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

// moduleRoot is the directory of go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := devenv.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
