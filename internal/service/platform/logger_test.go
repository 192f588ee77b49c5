package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// lines decodes the JSON lines a logger wrote.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestInvocationAddsTheRequestIDToEveryLine(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, "").With("route", "GET /x")
	handler := Invocation(func(ctx context.Context, in string) (string, error) {
		log.Info("without context", "connection_id", in)
		log.WarnContext(ctx, "with context")
		log.WithGroup("g").Error("in a group")
		return "ok", nil
	})
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	if _, err := handler(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	log.Info("after the invocation")

	got := lines(t, &buf)
	if len(got) != 4 {
		t.Fatalf("%d lines, want 4: %s", len(got), buf.String())
	}
	for _, l := range got[:3] {
		if l[RequestIDKey] != "req-1" || l["route"] != "GET /x" {
			t.Errorf("line %v lacks %s=req-1 or the logger's own attributes", l, RequestIDKey)
		}
	}
	if got[0]["connection_id"] != "c1" {
		t.Errorf("line %v lost its attributes", got[0])
	}
	if _, ok := got[3][RequestIDKey]; ok {
		t.Errorf("a line after the invocation carries a request id: %v", got[3])
	}
}

func TestLoggerLevelFollowsLambda(t *testing.T) {
	for level, want := range map[string][]string{
		"":      {"INFO", "WARN", "ERROR"},
		"INFO":  {"INFO", "WARN", "ERROR"},
		"DEBUG": {"DEBUG", "INFO", "WARN", "ERROR"},
		"TRACE": {"DEBUG", "INFO", "WARN", "ERROR"},
		"WARN":  {"WARN", "ERROR"},
		"FATAL": {"ERROR"},
	} {
		var buf bytes.Buffer
		log := newLogger(&buf, level)
		log.Debug("d")
		log.Info("i")
		log.Warn("w")
		log.Error("e")
		var levels []string
		for _, l := range lines(t, &buf) {
			levels = append(levels, l[slog.LevelKey].(string))
		}
		if strings.Join(levels, ",") != strings.Join(want, ",") {
			t.Errorf("AWS_LAMBDA_LOG_LEVEL=%q: logged %v, want %v", level, levels, want)
		}
	}
}
