package connections

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"github.com/gotoconnector/gotoconnector/internal/connid"
	"github.com/gotoconnector/gotoconnector/internal/tuning"
)

// Route keys, as API Gateway names them in the event.
const (
	RouteGet    = "GET /connections/{connection_id}"
	RouteToken  = "GET /connections/{connection_id}/token"
	RouteDelete = "DELETE /connections/{connection_id}"
	RouteList   = "GET /connections"
)

// Routes lists the route keys Handle serves.
var Routes = []string{RouteGet, RouteToken, RouteDelete, RouteList}

// Limits of the query parameters.
const (
	DefaultMinValid = 300  // seconds
	MaxMinValid     = 3000 // seconds: well under GoTo's hour-long access tokens
	DefaultLimit    = 100
	MaxLimit        = tuning.MaxListLimit
)

// Handle serves one request of the Connections API.
func (a *App) Handle(ctx context.Context, req Request) (Response, error) {
	log := a.logger().With("route", req.RouteKey, "request_id", req.RequestContext.RequestID)
	if iam := callerARN(req); iam != "" {
		log = log.With("caller", iam)
	}
	resp := a.serve(ctx, req, log)
	log.Info("answered", "status", resp.StatusCode)
	return resp, nil
}

func (a *App) serve(ctx context.Context, req Request, log *slog.Logger) Response {
	if a.RequireIAM && callerARN(req) == "" {
		log.Error("refused a request without IAM authorization: the route must have AuthorizationType AWS_IAM")
		return forbidden()
	}
	query, err := url.ParseQuery(req.RawQueryString)
	if err != nil {
		return invalid("the query string is malformed")
	}
	for k, vs := range query {
		if len(vs) > 1 {
			return invalid(k + " is given more than once")
		}
	}
	if req.RouteKey == RouteList {
		return a.list(ctx, query, log)
	}
	id := connectionID(req)
	if !connid.Valid(id) {
		return invalid("connection_id must be 1 to 128 characters from A-Z a-z 0-9 . _ : -")
	}
	log = log.With("connection_id", id)
	switch req.RouteKey {
	case RouteGet:
		return a.get(ctx, id, log)
	case RouteToken:
		minValid, msg := intParam(query, "min_valid", DefaultMinValid, 0, MaxMinValid)
		if msg != "" {
			return invalid(msg)
		}
		return a.token(ctx, id, minValid, callerOf(req), log)
	case RouteDelete:
		return a.delete(ctx, id, callerOf(req), log)
	}
	return notFound()
}

// caller is who API Gateway says sent the request, for the audit.
type caller struct {
	arn, account, callerID, sourceIP, requestID string
}

// callerOf reads the IAM identity (requestContext.authorizer.iam), the
// source address and API Gateway's request id.
func callerOf(req Request) caller {
	c := caller{sourceIP: req.RequestContext.HTTP.SourceIP, requestID: req.RequestContext.RequestID}
	if az := req.RequestContext.Authorizer; az != nil && az.IAM != nil {
		c.arn, c.account, c.callerID = az.IAM.UserARN, az.IAM.AccountID, az.IAM.CallerID
	}
	return c
}

// callerARN is the IAM principal API Gateway authorized, "" when none.
func callerARN(req Request) string {
	if az := req.RequestContext.Authorizer; az != nil && az.IAM != nil {
		if az.IAM.UserARN != "" {
			return az.IAM.UserARN
		}
		return az.IAM.CallerID
	}
	return ""
}

// connectionID is the id in the path: pathParameters.connection_id, or the
// segment after /connections/ in rawPath.
func connectionID(req Request) string {
	if id, ok := req.PathParameters["connection_id"]; ok {
		return id
	}
	rest, ok := strings.CutPrefix(req.RawPath, "/connections/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	if u, err := url.PathUnescape(id); err == nil {
		return u
	}
	return ""
}

// intParam reads an integer query parameter in [min, max], def when absent;
// the message says what is wrong.
func intParam(q url.Values, name string, def, min, max int) (int, string) {
	v, ok := q[name]
	if !ok {
		return def, ""
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < min || n > max || strconv.Itoa(n) != v[0] {
		return 0, fmt.Sprintf("%s must be a whole number from %d to %d", name, min, max)
	}
	return n, ""
}

// unavailableAfter is how many seconds a backend should wait after err.
func unavailableAfter(err error) int {
	if rl, ok := asRateLimit(err); ok && rl > 0 {
		return rl
	}
	return 5
}
