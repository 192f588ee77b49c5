package localrun

import (
	"context"
	"log/slog"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// LogEvents is the local run's stand-in for EventBridge: each lifecycle
// event is logged with its detail (which holds no token).
func LogEvents(log *slog.Logger) gotoauth.EventSink {
	return gotoauth.EventSink(func(_ context.Context, e gotoauth.Event) error {
		detail, err := e.MarshalJSON()
		if err != nil {
			return err
		}
		log.Info("lifecycle event", "source", gotoauth.EventSource, "detail_type", e.Type, "detail", string(detail))
		return nil
	})
}
