package platform

import (
	"context"
	"log/slog"
	"time"

	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// publishTimeout bounds publishing one lifecycle event from a handler.
const publishTimeout = 5 * time.Second

// Publish announces e on sink (nothing when sink is nil), after the change
// it describes is stored. A failure is logged at ERROR and goes no further:
// it never undoes or fails the change. The request's cancellation does not
// cut it short; publishTimeout does.
func Publish(ctx context.Context, sink gotoauth.EventSink, log *slog.Logger, e gotoauth.Event) {
	if sink == nil {
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := sink(pctx, e); err != nil {
		log.Error("publishing a lifecycle event failed (the change itself is stored)",
			"event", e.Type, "connection_id", e.ConnectionID, "error", err.Error())
	}
}
