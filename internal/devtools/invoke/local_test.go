package invoke

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/internal/devtools/devenv"
	"github.com/gotoconnector/gotoconnector/internal/devtools/freeport"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gotoconnector/gotoconnector/internal/service/refresh"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// localOptions are make invoke's options for function id and a sample
// event, with the repository's template and env.json.
func localOptions(t *testing.T, id, eventPath string) LocalOptions {
	t.Helper()
	root, err := devenv.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	rie, err := FindRIE(root)
	if err != nil {
		t.Fatal(err)
	}
	vars, err := ParseEnvVars(repoFile(t, "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	return LocalOptions{
		Root:       root,
		FunctionID: id,
		Template:   repoFile(t, "template.yaml"),
		EnvVars:    vars,
		Event:      repoFile(t, eventPath),
		RIE:        rie,
		BuildDir:   t.TempDir(),
		Log:        &testutil.Logs{},
	}
}

// freeLoopbackPort returns a port nothing listens on, out of the kernel's
// ephemeral range (see freeport).
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ports, err := freeport.Pick(1)
	if err != nil {
		t.Fatal(err)
	}
	return ports[0]
}

// TestLocalStartsDynamoDB is make invoke FN=RefreshFunction
// EVENT=events/schedule.json where env.json's DynamoDB endpoint does not
// answer: DynamoDB Local is started there with the table, the sweep runs,
// and everything is stopped afterwards.
func TestLocalStartsDynamoDB(t *testing.T) {
	t.Parallel()
	o := localOptions(t, "RefreshFunction", "events/schedule.json")
	port := freeLoopbackPort(t)
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	o.EnvVars[ParametersKey]["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint

	resp, err := Local(context.Background(), o)
	logs := o.Log.(*testutil.Logs).String()
	if err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	var sum refresh.Summary
	if err := json.Unmarshal(resp, &sum); err != nil {
		t.Fatalf("response %s: %v", resp, err)
	}
	if sum.Due != 0 || sum.Refreshed != 0 || sum.Failed != 0 || !bytes.Contains(resp, []byte(`"reauth_required":0`)) {
		t.Fatalf("summary %s", resp)
	}
	if !strings.Contains(logs, "starting DynamoDB Local there") || !strings.Contains(logs, `"Mode":"sweep"`) {
		t.Errorf("logs:\n%s", logs)
	}
	// DynamoDB Local is stopped: its port is free again.
	if !portFree(port) {
		t.Errorf("DynamoDB Local still listens on %d", port)
	}
}

// TestLocalAuthorize is make invoke FN=AuthorizeFunction
// EVENT=events/authorize.json against a running DynamoDB Local: the
// expired sample link is re-signed, the table is created, and the answer
// is the redirect to GoTo.
func TestLocalAuthorize(t *testing.T) {
	t.Parallel()
	ddb, client := testutil.DynamoDB(t)
	o := localOptions(t, "AuthorizeFunction", "events/authorize.json")
	table := "invoke-local-authorize-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	o.EnvVars[ParametersKey]["AWS_ENDPOINT_URL_DYNAMODB"] = ddb.Endpoint()
	o.EnvVars["AuthorizeFunction"]["TABLE_NAME"] = table

	resp, err := Local(context.Background(), o)
	logs := o.Log.(*testutil.Logs).String()
	if err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	var r events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(resp, &r); err != nil {
		t.Fatalf("response %s: %v", resp, err)
	}
	loc, _ := url.Parse(r.Headers["Location"])
	want := o.EnvVars["AuthorizeFunction"]["GOTO_AUTHORIZE_URL"]
	if r.StatusCode != 302 || loc == nil || !strings.HasPrefix(loc.String(), want+"?") || loc.Query().Get("state") == "" || len(r.Cookies) != 1 {
		t.Fatalf("response %s\nlogs:\n%s", resp, logs)
	}
	if !strings.Contains(logs, "re-signed it with the local link signing key") {
		t.Errorf("no note about the re-signed link:\n%s", logs)
	}
	// The pending authorization was stored in the table Local created.
	if items := testutil.Items(t, client, table); len(items) != 1 {
		t.Errorf("%d items in %s, want the pending authorization", len(items), table)
	}
}

// TestEmulatorClose: Close stops the emulator and the runtime it started
// in a process group of its own.
func TestEmulatorClose(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the emulator runs on Linux")
	}
	t.Parallel()
	o := localOptions(t, "RefreshFunction", "events/refresh-manual.json")
	bootstrap, err := Build(context.Background(), o.Root, "RefreshFunction", o.BuildDir, o.Log)
	if err != nil {
		t.Fatalf("%v\n%s", err, o.Log)
	}
	fn, err := TemplateFunction(o.Template, "RefreshFunction")
	if err != nil {
		t.Fatal(err)
	}
	// No DynamoDB is needed: an invalid manual request fails first.
	env := Environment(fn, EnvVars{"RefreshFunction": {
		"GOTO_CLIENT_ID": "c", "GOTO_SECRET_ID": "", "GOTO_CLIENT_SECRET": "s", "GOTO_LINK_SIGNING_KEY": "0123456789abcdef",
		"GOTO_REDIRECT_URI": "http://localhost:8080/callback", "TABLE_NAME": "t",
		"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9",
	}}, nil)
	var out testutil.Logs
	em, err := Start(context.Background(), Options{RIE: o.RIE, Bootstrap: bootstrap, Env: Environ(env), Output: &out})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { em.Close() }) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := em.Invoke(ctx, []byte(`{"connection_ids": ["not valid!"], "force": true}`))
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if typ, msg, ok := FunctionError(resp); !ok || typ == "" || !strings.Contains(msg, "not a valid connection id") {
		t.Fatalf("response %s", resp)
	}
	runtimes := childProcesses(em.cmd.Process.Pid)
	if len(runtimes) == 0 {
		t.Fatal("the emulator runs no runtime process")
	}
	once.Do(func() { em.Close() })
	select {
	case <-em.Done():
	default:
		t.Fatal("Close returned before the emulator exited")
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range runtimes {
		for p.Running() {
			if time.Now().After(deadline) {
				t.Fatalf("the runtime (pid %d) outlived Close", p.PID)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if _, err := em.Invoke(ctx, []byte(`{}`)); err == nil {
		t.Error("an invocation after Close succeeded")
	}
}
