package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/gotoconnector/gotoconnector/internal/connid"
	"github.com/gotoconnector/gotoconnector/internal/ops"
	"github.com/gotoconnector/gotoconnector/pkg/gotoauth"
)

// Limits of one input line.
const (
	// MaxLineBytes is the longest line read; a longer one is invalid.
	MaxLineBytes = 64 << 10
	// MaxTokenBytes is the longest token accepted (GoTo's are 1 to 2 KB).
	MaxTokenBytes = 16 << 10
	// MaxFieldBytes is the longest identity field accepted.
	MaxFieldBytes = 1024
)

// line is one input line: the connection's id, tokens and identity, with
// the names of the DynamoDB item and the Connections API. Times are
// RFC 3339.
type line struct {
	ConnectionID         *string `json:"connection_id"`
	RefreshToken         *string `json:"refresh_token"`
	AccessToken          *string `json:"access_token"`
	AccessTokenExpiresAt *string `json:"access_token_expires_at"`
	RefreshTokenIssuedAt *string `json:"refresh_token_issued_at"`
	gotoauth.Identity
}

// identityFields are the JSON names of gotoauth.Identity's fields.
var identityFields = func() []string {
	t := reflect.TypeFor[gotoauth.Identity]()
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	return names
}()

// invalidLine is why a line cannot be imported. Its message never holds a
// token, nor any other value of the line.
type invalidLine struct{ reason string }

func (e *invalidLine) Error() string { return e.reason }

func invalid(format string, args ...any) error {
	return &invalidLine{reason: fmt.Sprintf(format, args...)}
}

// entry is one valid line: the connection to import and its identity.
type entry struct {
	ops.Import
	gotoauth.Identity
}

// parseLine reads and checks one line, with lifetime the refresh tokens'
// life (REFRESH_TOKEN_LIFETIME) and now the time of the import. The error
// is an *invalidLine; the id is returned whenever it is valid, even when
// another field is not, so that the report can name the connection.
func parseLine(raw []byte, lifetime time.Duration, now time.Time) (imp *entry, id string, err error) {
	var l line
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, "", jsonProblem(err)
	}
	if dec.More() {
		return nil, "", invalid("more than one JSON value on the line")
	}
	if l.ConnectionID == nil {
		return nil, "", invalid("connection_id is missing")
	}
	if !connid.Valid(*l.ConnectionID) {
		return nil, "", invalid("connection_id is not 1 to %d characters of A-Z a-z 0-9 . _ : -", connid.MaxLength)
	}
	id = *l.ConnectionID
	imp = &entry{Import: ops.Import{ConnectionID: id}, Identity: l.Identity}
	if imp.RefreshToken, err = token("refresh_token", l.RefreshToken, true); err != nil {
		return nil, id, err
	}
	if imp.AccessToken, err = token("access_token", l.AccessToken, false); err != nil {
		return nil, id, err
	}
	switch {
	case imp.AccessToken != "" && l.AccessTokenExpiresAt == nil:
		return nil, id, invalid("access_token_expires_at is required with access_token")
	case imp.AccessToken == "" && l.AccessTokenExpiresAt != nil:
		return nil, id, invalid("access_token_expires_at without access_token")
	case l.AccessTokenExpiresAt != nil:
		if imp.AccessTokenExpiresAt, err = rfc3339("access_token_expires_at", *l.AccessTokenExpiresAt); err != nil {
			return nil, id, err
		}
	}
	if l.RefreshTokenIssuedAt != nil {
		t, err := rfc3339("refresh_token_issued_at", *l.RefreshTokenIssuedAt)
		switch {
		case err != nil:
			return nil, id, err
		case t.After(now.Add(5 * time.Minute)):
			return nil, id, invalid("refresh_token_issued_at is in the future")
		case !t.Add(lifetime).After(now):
			return nil, id, invalid("the refresh token has expired: refresh_token_issued_at is more than REFRESH_TOKEN_LIFETIME (%s) ago", lifetime)
		}
		imp.RefreshTokenIssuedAt = t
	}
	fields := reflect.ValueOf(&imp.Identity).Elem()
	for i, name := range identityFields {
		v := fields.Field(i).String()
		if len(v) > MaxFieldBytes {
			return nil, id, invalid("%s is longer than %d bytes", name, MaxFieldBytes)
		}
		if strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return nil, id, invalid("%s holds a control character", name)
		}
	}
	return imp, id, nil
}

// token checks a token field: a string of visible ASCII characters, at most
// MaxTokenBytes long.
func token(name string, v *string, required bool) (string, error) {
	switch {
	case v == nil && required:
		return "", invalid("%s is missing", name)
	case v == nil:
		return "", nil
	case *v == "":
		return "", invalid("%s is empty", name)
	case len(*v) > MaxTokenBytes:
		return "", invalid("%s is longer than %d bytes", name, MaxTokenBytes)
	}
	for i := 0; i < len(*v); i++ {
		if c := (*v)[i]; c <= ' ' || c > '~' {
			return "", invalid("%s holds a character that is not visible ASCII (at byte %d)", name, i+1)
		}
	}
	return *v, nil
}

// rfc3339 reads a time field.
func rfc3339(name, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, invalid("%s is not an RFC 3339 time such as 2026-12-01T09:30:00Z", name)
	}
	return t, nil
}

// jsonProblem describes a decoding error without quoting the line: Go's
// messages may hold a piece of the input (an unknown field's name is shown
// only when it looks like a field name).
func jsonProblem(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return invalid("not valid JSON (at byte %d)", syn.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return invalid("%s must be a JSON string", typ.Field)
	case errors.As(err, &typ):
		return invalid("the line is not a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if len(name) <= 64 && strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == "" {
			return invalid("unknown field %s (the fields are connection_id, refresh_token, access_token, access_token_expires_at, refresh_token_issued_at and %s)", name, strings.Join(identityFields, ", "))
		}
		return invalid("an unknown field")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("not valid JSON (it ends too soon)")
	default:
		return invalid("not valid JSON")
	}
}
