package platform

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// RequestIDKey is the attribute that carries Lambda's request id (the
// requestId of the function's START, END and REPORT lines) on every log line
// written during an invocation. The connect handlers also log request_id,
// API Gateway's id, which the stage's access log holds.
const RequestIDKey = "aws_request_id"

// newLogger returns a JSON logger at the level Lambda passes in
// AWS_LAMBDA_LOG_LEVEL (the template's LogLevel; INFO when unset) that adds
// the invocation's request id to each line.
func newLogger(w io.Writer, level string) *slog.Logger {
	return slog.New(requestIDHandler{root: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: parseLevel(level)})})
}

// parseLevel maps Lambda's application log levels to slog's: TRACE and DEBUG
// are Debug, WARN is Warn, ERROR and FATAL are Error, anything else Info.
func parseLevel(s string) slog.Level {
	switch strings.ToUpper(s) {
	case "TRACE", "DEBUG":
		return slog.LevelDebug
	case "WARN":
		return slog.LevelWarn
	case "ERROR", "FATAL":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// current is the request id of the invocation in progress, when the process
// runs one invocation at a time (the only mode in which one id is right for
// a line logged without a context).
var current atomic.Pointer[string]

// Invocation wraps a Lambda handler so that every line logged while it runs
// carries the invocation's request id, also lines logged without a context.
// When the runtime runs several invocations at once
// (AWS_LAMBDA_MAX_CONCURRENCY above 1), only lines logged with the
// invocation's context (InfoContext, ...) carry it.
func Invocation[In, Out any](h func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (Out, error) {
		if lc, ok := lambdacontext.FromContext(ctx); ok && lambdacontext.MaxConcurrency() <= 1 {
			id := lc.AwsRequestID
			current.Store(&id)
			defer current.Store(nil)
		}
		return h(ctx, in)
	}
}

// requestID is the Lambda request id of ctx, else of the invocation in
// progress; empty outside an invocation (local runs, tests).
func requestID(ctx context.Context) string {
	if ctx != nil {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			return lc.AwsRequestID
		}
	}
	if id := current.Load(); id != nil {
		return *id
	}
	return ""
}

// requestIDHandler adds RequestIDKey, at the top level of the line, to
// each record written during an invocation. It remembers the attributes and
// groups added to it, so that the id goes in before them.
type requestIDHandler struct {
	root slog.Handler
	ops  []func(slog.Handler) slog.Handler // WithAttrs and WithGroup, in order
}

func (h requestIDHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.root.Enabled(ctx, l)
}

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	inner := h.root
	if id := requestID(ctx); id != "" {
		inner = inner.WithAttrs([]slog.Attr{slog.String(RequestIDKey, id)})
	}
	for _, op := range h.ops {
		inner = op(inner)
	}
	return inner.Handle(ctx, r)
}

func (h requestIDHandler) with(op func(slog.Handler) slog.Handler) requestIDHandler {
	return requestIDHandler{root: h.root, ops: append(h.ops[:len(h.ops):len(h.ops)], op)}
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.with(func(in slog.Handler) slog.Handler { return in.WithAttrs(attrs) })
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return h.with(func(in slog.Handler) slog.Handler { return in.WithGroup(name) })
}
