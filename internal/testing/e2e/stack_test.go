package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gotoconnector/gotoconnector"
	"github.com/gotoconnector/gotoconnector/internal/devtools/devenv"
	"github.com/gotoconnector/gotoconnector/internal/devtools/invoke"
	"github.com/gotoconnector/gotoconnector/internal/service/refresh"
	"github.com/gotoconnector/gotoconnector/internal/testing/openapitest"
	"github.com/gotoconnector/gotoconnector/internal/testing/testutil"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth/gototest"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// The deployment the tests play: an HTTP API on its execute-api domain.
const (
	apiID       = "e2etest7qx"
	apiDomain   = apiID + ".execute-api.us-east-1.amazonaws.com"
	redirectURI = "https://" + apiDomain + "/callback"
	returnTo    = "https://app.example.com/settings/integrations?tab=goto"

	secretID     = "goto-connector-e2e"
	linkSecretID = "goto-connector-e2e-link"
	eventBus     = "goto-connector-e2e-events"
	linkKey      = "e2e-link-signing-key-0f4c2a9b7d"
	tokenKeyID   = "k1"
	userAgent    = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	functionPkg  = "github.com/gotoconnector/gotoconnector/functions/"
)

// functions maps each function's logical id to its package under functions/.
var functions = map[string]string{
	"AuthorizeFunction":   "authorize",
	"CallbackFunction":    "callback",
	"RefreshFunction":     "refresh",
	"ConnectionsFunction": "connections",
}

// stack is the connector deployed on this machine: the four bootstraps
// under the emulator, their table, GoTo, Secrets Manager and EventBridge.
type stack struct {
	t       *testing.T
	goTo    *gototest.Server
	secrets *fakeSecretsManager
	events  *testutil.EventBridge // lifecycle events the functions published
	db      *dynamodb.Client
	table   string
	cipher  *gotoauth.TokenCipher
	fns     map[string]*invoke.Emulator
	boots   map[string]string            // bootstrap per function
	envs    map[string]map[string]string // environment per function
	logs    *testutil.Logs               // everything the emulators and functions wrote
	seen    []string                     // secret values that went by: none may be logged
	aws     map[string][]*awsRecorder    // per function: its AWS endpoints, recording each call
}

// startStack builds the four bootstraps with the Makefile's targets and
// starts each under the emulator, configured like the deployed functions:
// GOTO_SECRET_ID names a secret read through the AWS SDK from a local
// Secrets Manager endpoint; there is no GOTO_CLIENT_SECRET and no
// GOTO_LINK_SIGNING_KEY.
func startStack(t *testing.T, extraEnv map[string]string, goToOpts ...gototest.Option) *stack {
	t.Helper()
	root, err := devenv.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	rie, err := invoke.FindRIE(root)
	if err != nil {
		t.Fatal(err)
	}
	ddb, _ := testutil.DynamoDB(t)
	db, table := testutil.Table(t)

	goTo := gototest.NewServer(append([]gototest.Option{gototest.WithRedirectURIs(redirectURI), gototest.WithStyle(gototest.StyleLegacy)}, goToOpts...)...)
	t.Cleanup(goTo.Close)

	tokenKey := make([]byte, 32)
	rand.Read(tokenKey)
	keys := map[string][]byte{tokenKeyID: tokenKey}
	cipher, err := gotoauth.NewTokenCipher(keys, tokenKeyID)
	if err != nil {
		t.Fatal(err)
	}
	// As the stack has them: the client secret (GOTO_SECRET_ID, no link
	// key), and the link secret (LINK_SECRET_ID) that authorize reads alone.
	secret, _ := json.Marshal(map[string]any{
		"client_secret":               goTo.ClientSecret,
		"token_encryption_keys":       map[string]string{tokenKeyID: base64.StdEncoding.EncodeToString(tokenKey)},
		"token_encryption_active_key": tokenKeyID,
	})
	linkSecret, _ := json.Marshal(map[string]any{"link_signing_key": linkKey})
	sm := newFakeSecretsManager(t, map[string]string{secretID: string(secret), linkSecretID: string(linkSecret)})
	eb := testutil.NewEventBridge(t)

	s := &stack{
		t: t, goTo: goTo, secrets: sm, events: eb, db: db, table: table, cipher: cipher,
		fns: map[string]*invoke.Emulator{}, boots: map[string]string{}, envs: map[string]map[string]string{}, logs: &testutil.Logs{},
		aws:  map[string][]*awsRecorder{},
		seen: []string{goTo.ClientSecret, linkKey, base64.StdEncoding.EncodeToString(tokenKey)},
	}
	t.Cleanup(s.nothingSecretLogged)

	// The bootstraps, built in parallel with the targets sam build runs.
	dir := t.TempDir()
	type built struct {
		id, bootstrap string
		out           bytes.Buffer
		err           error
	}
	var builds []*built
	var wg sync.WaitGroup
	for id := range functions {
		b := &built{id: id}
		builds = append(builds, b)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			b.bootstrap, b.err = invoke.Build(ctx, root, id, filepath.Join(dir, id), &b.out)
		}()
	}
	wg.Wait()
	for _, b := range builds {
		if b.err != nil {
			t.Fatalf("building %s: %v\n%s", b.id, b.err, b.out.String())
		}
		checkBuild(t, b.id, b.bootstrap)
	}

	vars := map[string]string{
		"GOTO_CLIENT_ID":                   goTo.ClientID,
		"GOTO_SECRET_ID":                   secretID,
		"LINK_SECRET_ID":                   linkSecretID,
		"GOTO_AUTHORIZE_URL":               goTo.AuthorizeURL(),
		"GOTO_TOKEN_URL":                   goTo.TokenURL(),
		"GOTO_REVOKE_URL":                  goTo.RevokeURL(),
		"GOTO_REDIRECT_URI":                redirectURI,
		"TABLE_NAME":                       table,
		"ALLOWED_RETURN_ORIGINS":           "https://app.example.com",
		"PKCE":                             "true",
		"REFRESH_INTERVAL":                 "24h",
		"ACCESS_TOKEN_REFRESH_AHEAD":       "0",
		"REFRESH_TOKEN_LIFETIME":           "720h",
		"REFRESH_RATE_LIMIT":               "10",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL(),
		"EVENT_BUS_NAME":                   eventBus,
		"AWS_ENDPOINT_URL_EVENTBRIDGE":     eb.URL(),
	}
	for _, kv := range devenv.LocalAWSEnv(ddb.Endpoint()) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	maps.Copy(vars, extraEnv)

	var mu sync.Mutex
	var startErrs []error
	for _, b := range builds {
		fn, err := invoke.TemplateFunction(gotoconnector.Template, b.id)
		if err != nil {
			t.Fatal(err)
		}
		// A test may run the functions with another Timeout than the
		// template's (the emulator enforces it).
		if v, ok := extraEnv["AWS_LAMBDA_FUNCTION_TIMEOUT"]; ok {
			if fn.Timeout, err = strconv.Atoi(v); err != nil {
				t.Fatal(err)
			}
		}
		// The environment sam local invoke would give the function with
		// these values; nothing of the test's own environment leaks in.
		// Each AWS endpoint is a recording proxy of the function's own, so
		// that its calls can be compared with its policy.
		env := invoke.Environment(fn, invoke.EnvVars{b.id: s.recordAWS(b.id, vars)}, nil)
		s.boots[b.id], s.envs[b.id] = b.bootstrap, env
		for _, k := range []string{"GOTO_CLIENT_SECRET", "GOTO_LINK_SIGNING_KEY"} {
			if _, ok := env[k]; ok {
				t.Fatalf("%s must not be set: secrets come from Secrets Manager", k)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			em, err := invoke.Start(context.Background(), invoke.Options{
				RIE: rie, Bootstrap: b.bootstrap, Env: invoke.Environ(env), Output: s.logs,
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				startErrs = append(startErrs, fmt.Errorf("%s: %w", b.id, err))
				return
			}
			s.fns[b.id] = em
		}()
	}
	wg.Wait()
	for _, em := range s.fns {
		t.Cleanup(func() { em.Close() })
	}
	// Whatever a test drives, no function calls what its policy lacks.
	t.Cleanup(func() {
		for _, p := range privilegeProblems(gotoconnector.Template, functionCalls(s.aws), false) {
			t.Error(p)
		}
	})
	if len(startErrs) > 0 {
		t.Fatal(startErrs)
	}
	return s
}

// recordAWS returns vars with every AWS endpoint (AWS_ENDPOINT_URL*)
// replaced by a recording proxy of function id's own.
func (s *stack) recordAWS(id string, vars map[string]string) map[string]string {
	names := stackNames{table: s.table, secret: secretID, linkSecret: linkSecretID, bus: vars["EVENT_BUS_NAME"], key: vars["TOKEN_KMS_KEY_ID"]}
	if names.bus == "" {
		names.bus = "default"
	}
	out := maps.Clone(vars)
	for k, v := range vars {
		if strings.HasPrefix(k, "AWS_ENDPOINT_URL") && v != "" {
			r := newAWSRecorder(s.t, v, names)
			s.aws[id] = append(s.aws[id], r)
			out[k] = r.URL()
		}
	}
	return out
}

// twin starts one more instance of a function, as Lambda does under load:
// a second execution environment with the same code and configuration.
func (s *stack) twin(id string) *invoke.Emulator {
	s.t.Helper()
	root, _ := devenv.ModuleRoot(".")
	rie, err := invoke.FindRIE(root)
	if err != nil {
		s.t.Fatal(err)
	}
	em, err := invoke.Start(context.Background(), invoke.Options{
		RIE: rie, Bootstrap: s.boots[id], Env: invoke.Environ(s.envs[id]), Output: s.logs,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { em.Close() })
	return em
}

// checkBuild checks that the bootstrap is the function's package built as
// the deployment builds it: -tags lambda.norpc -trimpath -ldflags="-s -w",
// CGO_ENABLED=0, GOOS=linux (for this machine's architecture). Go records
// all but -ldflags in the binary's build information (-trimpath leaves it
// out); -s and -w show as the missing symbol table and DWARF sections.
func checkBuild(t *testing.T, id, bootstrap string) {
	t.Helper()
	bi, err := buildinfo.ReadFile(bootstrap)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	if want := functionPkg + functions[id]; bi.Path != want {
		t.Errorf("%s: bootstrap built from %s, want %s", id, bi.Path, want)
	}
	got := map[string]string{}
	for _, s := range bi.Settings {
		got[s.Key] = s.Value
	}
	for k, want := range map[string]string{
		"-tags": "lambda.norpc", "-trimpath": "true", "-buildmode": "exe",
		"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": invoke.HostArch,
	} {
		if got[k] != want {
			t.Errorf("%s: bootstrap built with %s=%q, want %q (all settings: %v)", id, k, got[k], want, got)
		}
	}
	f, err := elf.Open(bootstrap)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	defer f.Close()
	for _, sec := range f.Sections {
		if sec.Name == ".symtab" || strings.HasPrefix(sec.Name, ".debug_") || strings.HasPrefix(sec.Name, ".zdebug_") {
			t.Errorf("%s: bootstrap has section %s: not built with -ldflags=\"-s -w\"", id, sec.Name)
		}
	}
}

// invoke sends an event to a function and returns its response; a function
// error or an emulator failure fails the test.
func (s *stack) invoke(id string, event any) []byte {
	s.t.Helper()
	b, err := json.Marshal(event)
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := s.fns[id].Invoke(ctx, b)
	if err != nil {
		s.t.Fatalf("%s: %v\nlogs:\n%s", id, err, s.logs)
	}
	if typ, msg, ok := invoke.FunctionError(resp); ok {
		s.t.Fatalf("%s returned an error (%s): %s\nlogs:\n%s", id, typ, msg, s.logs)
	}
	return resp
}

// http invokes authorize or callback with an HTTP API event and returns
// the response API Gateway would turn into the HTTP answer.
func (s *stack) http(id string, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	s.t.Helper()
	for _, c := range ev.Cookies {
		_, v, _ := strings.Cut(c, "=")
		s.seen = append(s.seen, v)
	}
	if q, err := url.ParseQuery(ev.RawQueryString); err == nil {
		s.seen = append(s.seen, q.Get("code"), q.Get("signature"))
	}
	var resp events.APIGatewayV2HTTPResponse
	raw := s.invoke(id, ev)
	if err := json.Unmarshal(raw, &resp); err != nil {
		s.t.Fatalf("%s: response %s: %v", id, raw, err)
	}
	if resp.StatusCode >= 500 || resp.Headers["Cache-Control"] != "no-store" {
		s.t.Fatalf("%s: %d %v %s", id, resp.StatusCode, resp.Headers, resp.Body)
	}
	openapitest.Lambda(s.t, ev.RouteKey, ev, resp)
	return resp
}

// refresh invokes the refresh function and returns its summary, checking
// the summary's public fields are all there.
func (s *stack) refresh(event any) refresh.Summary {
	s.t.Helper()
	raw := s.invoke("RefreshFunction", event)
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		s.t.Fatalf("summary %s: %v", raw, err)
	}
	for _, k := range []string{"due", "refreshed", "reauth_required", "failed", "skipped"} {
		if _, ok := fields[k]; !ok {
			s.t.Fatalf("the summary %s has no %q", raw, k)
		}
	}
	var sum refresh.Summary
	if err := json.Unmarshal(raw, &sum); err != nil {
		s.t.Fatal(err)
	}
	return sum
}

// connection returns the stored connection item's attributes as strings,
// nil when there is none.
func (s *stack) connection(id string) map[string]string {
	s.t.Helper()
	return testutil.ItemStrings(s.t, s.db, s.table, "conn#"+id)
}

// tokens decrypts a stored connection's tokens, checking they are
// encrypted at rest with the key from the secret.
func (s *stack) tokens(c map[string]string) (access, refresh string) {
	s.t.Helper()
	id := c["connection_id"]
	for _, k := range []string{"access_token", "refresh_token"} {
		if !strings.HasPrefix(c[k], "enc:v1:"+tokenKeyID+":") {
			s.t.Fatalf("%s of %s is not encrypted with key %s", k, id, tokenKeyID)
		}
	}
	access, err := s.cipher.Decrypt(c["access_token"], id)
	if err != nil {
		s.t.Fatal(err)
	}
	refresh, err = s.cipher.Decrypt(c["refresh_token"], id)
	if err != nil {
		s.t.Fatal(err)
	}
	s.seen = append(s.seen, access, refresh)
	return access, refresh
}

// nothingSecretLogged checks the functions' logs hold none of the secrets,
// codes, tokens, signatures and cookie values that went by.
func (s *stack) nothingSecretLogged() {
	logs := s.logs.String()
	for _, v := range s.seen {
		if len(v) >= 8 && strings.Contains(logs, v) {
			s.t.Errorf("the functions' logs contain a secret value (%d characters)", len(v))
		}
	}
	if s.t.Failed() {
		s.t.Logf("the functions' logs:\n%s", logs)
	}
}

var requests atomic.Int64

// httpEvent is the HTTP API (payload 2.0) event API Gateway sends for a
// browser's GET: cookies in the cookies field, lower-case headers.
func httpEvent(routeKey, rawQuery string, cookies ...string) events.APIGatewayV2HTTPRequest {
	method, path, _ := strings.Cut(routeKey, " ")
	var params map[string]string
	if q, err := url.ParseQuery(rawQuery); err == nil && len(q) > 0 {
		params = map[string]string{}
		for k, vs := range q {
			params[k] = strings.Join(vs, ",")
		}
	}
	now := time.Now()
	return events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       routeKey,
		RawPath:        path,
		RawQueryString: rawQuery,
		Cookies:        cookies,
		Headers: map[string]string{
			"accept":            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
			"host":              apiDomain,
			"user-agent":        userAgent,
			"x-forwarded-for":   "203.0.113.24",
			"x-forwarded-port":  "443",
			"x-forwarded-proto": "https",
		},
		QueryStringParameters: params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     routeKey,
			AccountID:    invoke.AccountID,
			APIID:        apiID,
			Stage:        "$default",
			RequestID:    fmt.Sprintf("e2eReq%08dAME=", requests.Add(1)),
			DomainName:   apiDomain,
			DomainPrefix: apiID,
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    method,
				Path:      path,
				Protocol:  "HTTP/1.1",
				SourceIP:  "203.0.113.24",
				UserAgent: userAgent,
			},
		},
	}
}

// scheduledEvent is what the EventBridge schedule sends the refresh function.
func scheduledEvent() events.EventBridgeEvent {
	return events.EventBridgeEvent{
		Version:    "0",
		ID:         "0d9c2b7e-5a41-4c38-9e0f-2b7d1c3a4e5f",
		DetailType: "Scheduled Event",
		Source:     "aws.events",
		AccountID:  invoke.AccountID,
		Time:       time.Now().UTC().Truncate(time.Second),
		Region:     "us-east-1",
		Resources:  []string{"arn:aws:events:us-east-1:" + invoke.AccountID + ":rule/goto-connector-RefreshFunctionSweep-E2E"},
		Detail:     json.RawMessage(`{}`),
	}
}

// bindingCookieName is the name of a flow's binding cookie (DESIGN.md):
// goto_connect_ and the first 16 hex digits of SHA-256(state).
func bindingCookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return "goto_connect_" + hex.EncodeToString(sum[:8])
}

// fakeSecretsManager answers the Secrets Manager GetSecretValue JSON
// protocol for the stack's secrets, so the functions read their secrets through the
// AWS SDK's real Secrets Manager client.
type fakeSecretsManager struct {
	srv      *httptest.Server
	secrets  map[string]string // id: value
	calls    atomic.Int64
	mu       sync.Mutex
	problems []string
}

func newFakeSecretsManager(t *testing.T, secrets map[string]string) *fakeSecretsManager {
	f := &fakeSecretsManager{secrets: secrets}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, p := range f.problems {
			t.Errorf("Secrets Manager request: %s", p)
		}
	})
	return f
}

func (f *fakeSecretsManager) URL() string { return f.srv.URL }

// Calls is how many GetSecretValue requests for the secrets were answered.
func (f *fakeSecretsManager) Calls() int { return int(f.calls.Load()) }

func (f *fakeSecretsManager) problem(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

func (f *fakeSecretsManager) serve(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	if r.Method != http.MethodPost {
		f.problem("method %s", r.Method)
		fail(http.StatusMethodNotAllowed, "InvalidRequestException", "POST only")
		return
	}
	if target := r.Header.Get("X-Amz-Target"); target != "secretsmanager.GetSecretValue" {
		f.problem("X-Amz-Target %q", target)
		fail(http.StatusBadRequest, "UnknownOperationException", "unknown operation "+target)
		return
	}
	// Signed by the SDK with the function's (local) credentials.
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+devenv.LocalAccessKeyID+"/") ||
		!strings.Contains(auth, "/secretsmanager/aws4_request") {
		f.problem("Authorization %q is not a SigV4 signature for secretsmanager", auth)
	}
	body, _ := io.ReadAll(r.Body)
	var in struct{ SecretId string }
	if err := json.Unmarshal(body, &in); err != nil {
		f.problem("body %q: %v", body, err)
		fail(http.StatusBadRequest, "InvalidRequestException", "bad JSON")
		return
	}
	secret, ok := f.secrets[in.SecretId]
	if !ok {
		f.problem("SecretId %q, not one of the stack's secrets", in.SecretId)
		fail(http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	f.calls.Add(1)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(map[string]any{
		"ARN":           "arn:aws:secretsmanager:us-east-1:" + invoke.AccountID + ":secret:" + in.SecretId + "-Ab12Cd",
		"Name":          in.SecretId,
		"SecretString":  secret,
		"VersionId":     "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
		"VersionStages": []string{"AWSCURRENT"},
		"CreatedDate":   float64(time.Now().Add(-time.Hour).Unix()),
	})
}
