package gotoauth

import (
	"context"
	"encoding/json"
	"time"
)

// Lifecycle event types (EventBridge detail-type), with source EventSource.
const (
	EventSource         = "gotoconnector"
	EventConnected      = "connection.connected"
	EventReauthRequired = "connection.reauth_required"
	// EventRefreshFailing: transient refresh failures have lasted past a
	// threshold, or come near the refresh token's expiry.
	EventRefreshFailing = "connection.refresh_failing"
	// EventRecovered: the first successful refresh of a connection after
	// connection.refresh_failing was announced for it (once).
	EventRecovered    = "connection.recovered"
	EventDisconnected = "connection.disconnected"
)

// Event is a change of a connection, announced to an EventSink. It never
// holds a token, code or secret.
type Event struct {
	Type         string
	ConnectionID string
	Status       Status
	Reason       string
	// Identity is the connection's GoTo account, as stored.
	Identity
	At time.Time
	// Revoked, on connection.disconnected only, tells whether the refresh
	// token the deleted connection held was revoked at GoTo.
	Revoked *bool
}

// Event describes the connection for a lifecycle event of type typ at at
// (reason: GoTo's error code, for connection.reauth_required).
func (c *Connection) Event(typ, reason string, at time.Time) Event {
	return Event{
		Type: typ, ConnectionID: c.ConnectionID, Status: c.Status, Reason: reason,
		Identity: c.Identity, At: at,
	}
}

// MarshalJSON writes the event's detail (the connector's lifecycle event
// contract, README "Lifecycle events"):
// connection_id, status, reason (when there is one), the stored identity
// fields, at (RFC 3339, UTC) and revoked (when Revoked is set).
func (e Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ConnectionID string `json:"connection_id"`
		Status       Status `json:"status,omitempty"`
		Reason       string `json:"reason,omitempty"`
		Identity
		At      string `json:"at"`
		Revoked *bool  `json:"revoked,omitempty"`
	}{e.ConnectionID, e.Status, e.Reason, e.Identity, e.At.UTC().Format(time.RFC3339), e.Revoked})
}

// EventSink receives lifecycle events: it is called after the change is
// stored; its failure is logged and never undoes or blocks the change. Any
// function of this shape is one (NewEventBridgeSink returns one for a bus).
type EventSink func(ctx context.Context, e Event) error

// publishTimeout bounds publishing one event.
const publishTimeout = 5 * time.Second

// publish announces a change of c, when a sink is set; a failure is logged.
func (ts *TokenSource) publish(ctx context.Context, typ string, c *Connection, reason string) {
	if ts.events == nil {
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := ts.events(pctx, c.Event(typ, reason, ts.store.now())); err != nil {
		ts.logger.Error("publishing a lifecycle event failed (the change itself is stored)", "event", typ, "connection_id", c.ConnectionID, "error", err.Error())
	}
}
