package testutil

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gotoconnector/gotoconnector/internal/testing/openapitest"
)

// EventBridge answers the EventBridge PutEvents API (AWS JSON 1.1, as the
// AWS SDK speaks it) on loopback and keeps every entry it was sent, so that
// tests check the lifecycle events the connector publishes through the
// SDK's real client (AWS_ENDPOINT_URL_EVENTBRIDGE, or BaseEndpoint).
type EventBridge struct {
	srv *httptest.Server

	mu       sync.Mutex
	entries  []EventEntry
	problems []string
	failing  atomic.Bool
}

// EventEntry is one PutEvents entry as it arrived.
type EventEntry struct {
	Source       string
	DetailType   string
	Detail       string
	EventBusName string
}

// NewEventBridge starts a fake EventBridge endpoint, closed when the test
// ends; requests that are not a well-formed, signed PutEvents fail the test.
func NewEventBridge(t testing.TB) *EventBridge {
	f := &EventBridge{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, p := range f.problems {
			t.Errorf("EventBridge request: %s", p)
		}
	})
	return f
}

// URL is the endpoint (for AWS_ENDPOINT_URL_EVENTBRIDGE).
func (f *EventBridge) URL() string { return f.srv.URL }

// Entries returns the entries received so far.
func (f *EventBridge) Entries() []EventEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]EventEntry(nil), f.entries...)
}

// Fail makes the endpoint answer 500 (on) or normally (off).
func (f *EventBridge) Fail(on bool) { f.failing.Store(on) }

func (f *EventBridge) problem(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

func (f *EventBridge) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if f.failing.Load() {
		w.WriteHeader(http.StatusInternalServerError)
		json.NewEncoder(w).Encode(map[string]string{"__type": "InternalException", "message": "failing on purpose"})
		return
	}
	if target := r.Header.Get("X-Amz-Target"); r.Method != http.MethodPost || target != "AWSEvents.PutEvents" {
		f.problem("%s with X-Amz-Target %q, want POST AWSEvents.PutEvents", r.Method, target)
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": "UnknownOperationException"})
		return
	}
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, "/events/aws4_request") {
		f.problem("Authorization %q is not a SigV4 signature for events", auth)
	}
	body, _ := io.ReadAll(r.Body)
	var in struct{ Entries []EventEntry }
	if err := json.Unmarshal(body, &in); err != nil || len(in.Entries) == 0 {
		f.problem("body %q: %v", body, err)
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": "ValidationException"})
		return
	}
	type result struct {
		EventId string
	}
	out := struct {
		FailedEntryCount int
		Entries          []result
	}{}
	f.mu.Lock()
	for _, e := range in.Entries {
		if err := openapitest.Event(e.DetailType, e.Detail); err != nil {
			f.problems = append(f.problems, err.Error())
		}
		f.entries = append(f.entries, e)
		out.Entries = append(out.Entries, result{EventId: fmt.Sprintf("evt-%d", len(f.entries))})
	}
	f.mu.Unlock()
	json.NewEncoder(w).Encode(out)
}
