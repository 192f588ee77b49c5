package connections

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
)

// Request and Response are API Gateway HTTP API (payload 2.0) events.
type (
	Request  = events.APIGatewayV2HTTPRequest
	Response = events.APIGatewayV2HTTPResponse
)

// headers every answer carries.
func headers() map[string]string {
	return map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"}
}

// answer is a JSON response with status and body v.
func answer(status int, v any) Response {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal"}`)
	}
	return Response{StatusCode: status, Headers: headers(), Body: string(b)}
}

// noContent is 204 (DELETE).
func noContent() Response { return Response{StatusCode: http.StatusNoContent, Headers: headers()} }

// errorBody is the body of every error answer.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

func invalid(message string) Response {
	return answer(http.StatusBadRequest, errorBody{Error: "invalid_request", Message: message})
}

func notFound() Response { return answer(http.StatusNotFound, errorBody{Error: "not_found"}) }

func reauthRequired(reason string) Response {
	if reason == "" {
		reason = "unknown"
	}
	return answer(http.StatusConflict, errorBody{Error: "reauth_required", Reason: reason})
}

// unavailable is 503 with Retry-After (seconds): GoTo or the store failed
// transiently; nothing stored was changed.
func unavailable(retryAfter int) Response {
	r := answer(http.StatusServiceUnavailable, errorBody{Error: "unavailable"})
	r.Headers["Retry-After"] = strconv.Itoa(retryAfter)
	return r
}

func forbidden() Response {
	return answer(http.StatusForbidden, errorBody{Error: "forbidden", Message: "this route requires IAM authorization (SigV4)"})
}
