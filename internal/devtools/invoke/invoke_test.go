package invoke

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

const testTemplate = `
Parameters:
  AuthUrl:
    Type: String
    Default: https://auth.example.com/authorize
  Secret:
    Type: String
Conditions:
  Yes: !Equals [a, a]
Globals:
  Function:
    Runtime: provided.al2023
    Handler: bootstrap
    MemorySize: 256
    Timeout: 15
    Environment:
      Variables:
        PLAIN: value
        NUMBER: 10
        FROM_PARAM: !Ref AuthUrl
        NO_DEFAULT: !Ref Secret
        SUBSTITUTED: !Sub "https://${AWS::Region}.example.com"
        CONDITIONAL: !If [Yes, a, b]
Resources:
  OneFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: makefile
    Properties:
      Timeout: 900
      Environment:
        Variables:
          OWN: mine
  Table:
    Type: AWS::DynamoDB::Table
`

func TestTemplateFunction(t *testing.T) {
	fn, err := TemplateFunction([]byte(testTemplate), "OneFunction")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"PLAIN": "value", "NUMBER": "10", "FROM_PARAM": "https://auth.example.com/authorize",
		"NO_DEFAULT": "", "SUBSTITUTED": "", "CONDITIONAL": "", "OWN": "mine",
	}
	if !maps.Equal(fn.Env, want) {
		t.Errorf("Env = %v, want %v", fn.Env, want)
	}
	if fn.Timeout != 900 || fn.MemorySize != 256 || fn.Handler != "bootstrap" || fn.Runtime != "provided.al2023" || fn.BuildMethod != "makefile" {
		t.Errorf("function = %+v", fn)
	}
	if _, err := TemplateFunction([]byte(testTemplate), "Table"); err == nil || !strings.Contains(err.Error(), "not an AWS::Serverless::Function") {
		t.Errorf("a table: %v", err)
	}
	if _, err := TemplateFunction([]byte(testTemplate), "Nope"); err == nil || !strings.Contains(err.Error(), "[OneFunction]") {
		t.Errorf("a missing function: %v", err)
	}
	ids, err := TemplateFunctionIDs([]byte(testTemplate))
	if err != nil || !slices.Equal(ids, []string{"OneFunction"}) {
		t.Errorf("ids %v %v", ids, err)
	}
}

func TestEnvironmentPrecedence(t *testing.T) {
	fn, err := TemplateFunction([]byte(testTemplate), "OneFunction")
	if err != nil {
		t.Fatal(err)
	}
	vars, err := ParseEnvVars([]byte(`{
		"Parameters": {"PLAIN": "from-parameters", "NUMBER": 20, "LOCAL_ONLY": "yes", "AWS_ACCESS_KEY_ID": "local"},
		"OneFunction": {"PLAIN": "from-function", "OWN": true, "IGNORED_LIST": [1]},
		"OtherFunction": {"PLAIN": "other"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	shell := map[string]string{
		"NO_DEFAULT": "from-shell", "PLAIN": "from-shell", "AWS_REGION": "eu-west-1",
		"AWS_SECRET_ACCESS_KEY": "shell-secret", "AWS_SESSION_TOKEN": "shell-token", "HOME": "/root", "PATH": "/bin",
	}
	env := Environment(fn, vars, func(k string) (string, bool) { v, ok := shell[k]; return v, ok })
	for k, want := range map[string]string{
		"PLAIN":                           "from-function", // function section > Parameters > shell > template
		"NUMBER":                          "20",
		"NO_DEFAULT":                      "from-shell",
		"FROM_PARAM":                      "https://auth.example.com/authorize",
		"OWN":                             "true",
		"IGNORED_LIST":                    "",
		"LOCAL_ONLY":                      "yes",
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"AWS_ACCESS_KEY_ID":               "local",
		"AWS_SECRET_ACCESS_KEY":           "shell-secret",
		"AWS_LAMBDA_FUNCTION_NAME":        "OneFunction",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     "900",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_FUNCTION_HANDLER":     "bootstrap",
		"AWS_SAM_LOCAL":                   "true",
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	for _, k := range []string{"HOME", "PATH", "AWS_SESSION_TOKEN"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s is passed", k)
		}
	}

	env = Environment(fn, EnvVars{}, nil)
	if env["AWS_REGION"] != "us-east-1" || env["AWS_ACCESS_KEY_ID"] != "defaultkey" || env["AWS_SECRET_ACCESS_KEY"] != "defaultsecret" {
		t.Errorf("SAM's placeholders: %v", env)
	}
	if got := Environ(map[string]string{"B": "2", "A": "1=1"}); !slices.Equal(got, []string{"A=1=1", "B=2"}) {
		t.Errorf("Environ = %v", got)
	}
}

func signedQuery(t *testing.T, key string, l gotoauth.Link) string {
	t.Helper()
	raw, err := gotoauth.SignLink("https://connector.example.com/authorize", []byte(key), l)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	return u.RawQuery
}

func TestResignExpiredLink(t *testing.T) {
	const key = "local-development-link-signing-key"
	now := time.Unix(1_800_000_000, 0)
	link := gotoauth.Link{ConnectionID: "demo-customer", ReturnTo: "http://localhost:8080/app/return", Expires: now.Add(-time.Hour)}
	event := func(rawQuery string) []byte {
		b, _ := json.Marshal(map[string]any{
			"version": "2.0", "rawQueryString": rawQuery,
			"requestContext": map[string]any{"timeEpoch": 1799996400123, "requestId": "abc="},
		})
		return b
	}

	out, ok, err := ResignExpiredLink(event(signedQuery(t, key, link)), []byte(key), now, 15*time.Minute)
	if err != nil || !ok {
		t.Fatalf("an expired genuine link: ok %v, err %v", ok, err)
	}
	var ev struct {
		RawQueryString        string            `json:"rawQueryString"`
		QueryStringParameters map[string]string `json:"queryStringParameters"`
		RequestContext        json.RawMessage   `json:"requestContext"`
	}
	if err := json.Unmarshal(out, &ev); err != nil {
		t.Fatal(err)
	}
	q, _ := url.ParseQuery(ev.RawQueryString)
	got, err := gotoauth.VerifyLink(q, []byte(key), now)
	if err != nil || got.ConnectionID != link.ConnectionID || got.ReturnTo != link.ReturnTo || !got.Expires.Equal(now.Add(15*time.Minute)) {
		t.Fatalf("re-signed link %+v: %v", got, err)
	}
	if ev.QueryStringParameters["signature"] != q.Get("signature") || ev.QueryStringParameters["return_to"] != link.ReturnTo {
		t.Errorf("queryStringParameters %v", ev.QueryStringParameters)
	}
	if !bytes.Contains(ev.RequestContext, []byte("1799996400123")) {
		t.Errorf("numbers were not kept as written: %s", ev.RequestContext)
	}

	for name, in := range map[string][]byte{
		"forged":      event(signedQuery(t, "another-key-0123456789", link)),
		"not expired": event(signedQuery(t, key, gotoauth.Link{ConnectionID: "c", Expires: now.Add(time.Minute)})),
		"no link":     event("code=abc&state=def"),
		"no query":    []byte(`{"connection_ids": ["a"], "force": true}`),
		"not JSON":    []byte(`nope`),
	} {
		out, ok, err := ResignExpiredLink(in, []byte(key), now, time.Minute)
		if ok || err != nil || !bytes.Equal(out, in) {
			t.Errorf("%s: changed %v, err %v", name, ok, err)
		}
	}
}

func TestFunctionError(t *testing.T) {
	typ, msg, ok := FunctionError([]byte(`{"errorMessage":"boom","errorType":"errorString"}`))
	if !ok || typ != "errorString" || msg != "boom" {
		t.Errorf("%q %q %v", typ, msg, ok)
	}
	for _, r := range []string{`{"due":0}`, `{"statusCode":302}`, `[]`, ``} {
		if _, _, ok := FunctionError([]byte(r)); ok {
			t.Errorf("%s is not an error", r)
		}
	}
}
