package gotoauth

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// NewEventBridgeSink returns a sink that puts each lifecycle event on the
// EventBridge bus busName (a name or an ARN) through client: source
// EventSource ("gotoconnector"), detail-type the event's type
// (connection.connected, ...), detail the event's JSON (Event.MarshalJSON),
// which holds no token, code or secret.
//
// The sink fails when the call fails or EventBridge refuses the entry; it
// does not retry (the SDK's own retries apply).
func NewEventBridgeSink(client *eventbridge.Client, busName string) EventSink {
	return (&eventBridgeSink{client: client, bus: busName}).publish
}

type eventBridgeSink struct {
	client *eventbridge.Client
	bus    string
}

// publish puts e on the bus.
func (s *eventBridgeSink) publish(ctx context.Context, e Event) error {
	if s.client == nil || s.bus == "" {
		return fmt.Errorf("%w: the EventBridge sink needs a client and a bus name", ErrNotConfigured)
	}
	detail, err := e.MarshalJSON()
	if err != nil {
		return fmt.Errorf("gotoauth: encoding event %s: %w", e.Type, err)
	}
	at := e.At.UTC()
	out, err := s.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String(s.bus),
		Source:       aws.String(EventSource),
		DetailType:   aws.String(e.Type),
		Detail:       aws.String(string(detail)),
		Time:         &at,
	}}})
	if err != nil {
		return fmt.Errorf("gotoauth: publishing %s to EventBridge bus %s: %w", e.Type, s.bus, err)
	}
	if out.FailedEntryCount > 0 {
		code, msg := "unknown", ""
		if len(out.Entries) > 0 {
			code, msg = aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage)
		}
		return fmt.Errorf("gotoauth: EventBridge bus %s refused %s: %s %s", s.bus, e.Type, code, msg)
	}
	return nil
}
