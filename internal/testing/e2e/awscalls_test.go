package e2e_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// awsCall is one AWS API call a function made, as IAM sees it: the action
// ("dynamodb:PutItem") and the resource it named, relative to the stack:
// "table", "table/index/<name>", "secret" (GOTO_SECRET_ID), "linksecret"
// (LINK_SECRET_ID), "bus", "key" (the token KMS key,
// used with the table's encryption context), or "other:<name>" for a
// resource that is not the stack's.
type awsCall struct {
	Action   string
	Resource string
}

func (c awsCall) String() string { return c.Action + " on " + c.Resource }

// awsRecorder is a recording proxy in front of one local AWS endpoint for
// one function: it forwards every request unchanged and notes the action
// (from X-Amz-Target, as the AWS JSON protocols name it) and the resource
// (from the request body).
type awsRecorder struct {
	srv   *httptest.Server
	names stackNames

	mu    sync.Mutex
	calls map[awsCall]int
}

// stackNames are the names the stack gives its resources, to tell the
// stack's own resources from others in recorded calls.
type stackNames struct {
	table, secret, linkSecret, bus, key string
}

// targetServices maps the X-Amz-Target prefix of the AWS JSON protocols to
// the IAM service prefix.
var targetServices = map[string]string{
	"DynamoDB_20120810": "dynamodb",
	"secretsmanager":    "secretsmanager",
	"AWSEvents":         "events",
	"TrentService":      "kms",
}

func newAWSRecorder(t *testing.T, target string, names stackNames) *awsRecorder {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	r := &awsRecorder{names: names, calls: map[awsCall]int{}}
	proxy := httputil.NewSingleHostReverseProxy(u)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		r.record(req.Header.Get("X-Amz-Target"), body)
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// URL is the endpoint to give the function instead of the real one.
func (r *awsRecorder) URL() string { return r.srv.URL }

func (r *awsRecorder) record(target string, body []byte) {
	prefix, op, _ := strings.Cut(target, ".")
	service, ok := targetServices[prefix]
	if !ok {
		service = "unknown-protocol(" + prefix + ")"
	}
	var in struct {
		TableName, IndexName, SecretId, KeyId string
		Entries                               []struct{ EventBusName string }
		EncryptionContext                     map[string]string
	}
	_ = json.Unmarshal(body, &in)
	var resources []string
	switch service {
	case "dynamodb":
		res := "other:" + in.TableName
		if in.TableName == r.names.table {
			res = "table"
		}
		if in.IndexName != "" {
			res += "/index/" + in.IndexName
		}
		resources = append(resources, res)
	case "secretsmanager":
		res := "other:" + in.SecretId
		switch in.SecretId {
		case r.names.secret:
			res = "secret"
		case r.names.linkSecret:
			res = "linksecret"
		}
		resources = append(resources, res)
	case "events":
		for _, e := range in.Entries {
			// A bus is named by name or by ARN (...:event-bus/<name>).
			name := e.EventBusName[strings.LastIndex(e.EventBusName, "/")+1:]
			res := "other:" + e.EventBusName
			if name == r.names.bus || name == "" && r.names.bus == "default" {
				res = "bus"
			}
			resources = append(resources, res)
		}
	case "kms":
		// The policies allow the key only with the table's encryption
		// context; a call without it is another resource to IAM.
		res := "other:" + in.KeyId
		if (in.KeyId == r.names.key || in.KeyId == "") && r.names.key != "" {
			res = "key"
			if in.EncryptionContext["service"] != "gotoconnector" || in.EncryptionContext["table"] != r.names.table || len(in.EncryptionContext) != 2 {
				res = "key without the table's encryption context"
			}
		}
		resources = append(resources, res)
	default:
		resources = append(resources, "unknown")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, res := range resources {
		r.calls[awsCall{Action: service + ":" + op, Resource: res}]++
	}
}

// Calls returns what was called, with counts.
func (r *awsRecorder) Calls() map[awsCall]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[awsCall]int, len(r.calls))
	for c, n := range r.calls {
		out[c] = n
	}
	return out
}

// functionCalls merges the calls each function made on all its recorders.
func functionCalls(recorders map[string][]*awsRecorder) map[string]map[awsCall]int {
	out := map[string]map[awsCall]int{}
	for fn, rs := range recorders {
		out[fn] = map[awsCall]int{}
		for _, r := range rs {
			for c, n := range r.Calls() {
				out[fn][c] += n
			}
		}
	}
	return out
}

// describeCalls lists calls sorted, for messages.
func describeCalls(calls map[awsCall]int) string {
	var lines []string
	for c, n := range calls {
		lines = append(lines, c.String()+" ×"+strconv.Itoa(n))
	}
	sort.Strings(lines)
	return strings.Join(lines, ", ")
}
