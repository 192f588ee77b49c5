// Package openapitest checks requests, answers and lifecycle events against
// api/openapi.yaml, so that the document cannot drift from the code: the
// handler tests and the end-to-end tests pass what they send and receive
// through it at the few places they all go through.
//
// A request the document refuses (a bad parameter, an id outside the
// character set) must get a 4xx: tests send such requests on purpose. Every
// answer must be one the document lists for its route and status, with its
// headers and body schema.
package openapitest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/gotoconnector/gotoconnector/api"
)

// Contract is api/openapi.yaml loaded: the document, its router and its
// event schemas (by detail-type).
type Contract struct {
	doc    *openapi3.T
	router routers.Router
	events map[string]*openapi3.Schema // detail-type -> schema
}

var (
	once    sync.Once
	loaded  *Contract
	loadErr error
)

// Load parses and validates api/openapi.yaml (once per test binary).
func Load() (*Contract, error) {
	once.Do(func() { loaded, loadErr = Parse(api.OpenAPI) })
	return loaded, loadErr
}

// Parse loads and validates an OpenAPI document (Load uses the embedded
// api/openapi.yaml; tests of this package pass broken ones).
func Parse(data []byte) (*Contract, error) {
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("api/openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("api/openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	// Routes are matched by path alone: the tests' hosts are loopback or
	// API Gateway's, never the document's example server.
	routed := *doc
	routed.Servers = nil
	router, err := legacy.NewRouter(&routed)
	if err != nil {
		return nil, fmt.Errorf("api/openapi.yaml: routes: %w", err)
	}
	c := &Contract{doc: doc, router: router, events: map[string]*openapi3.Schema{}}
	for _, ref := range doc.Components.Schemas {
		if dt, ok := ref.Value.Extensions["x-detail-type"].(string); ok {
			if _, dup := c.events[dt]; dup {
				return nil, fmt.Errorf("api/openapi.yaml: two schemas have x-detail-type %s", dt)
			}
			c.events[dt] = ref.Value
		}
	}
	return c, nil
}

func init() {
	// The connect flow's pages are text/html: their schema is a string.
	openapi3filter.RegisterBodyDecoder("text/html", func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(r)
		return string(b), err
	})
}

// options of every validation: security is API Gateway's to enforce (IAM),
// and an answer with a status the document does not list is a failure.
func options() *openapi3filter.Options {
	return &openapi3filter.Options{
		MultiError:            true,
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
	}
}

// check validates one exchange and returns what is wrong ("" when nothing).
func (c *Contract) check(req *http.Request, status int, header http.Header, body []byte) string {
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if status >= 400 && status < 500 {
			// A path API Gateway would not route (an id with a slash):
			// refused by the handler, nothing in the document to check.
			return ""
		}
		return fmt.Sprintf("%s %s is not a route of api/openapi.yaml, yet it was answered %d: %v", req.Method, req.URL.Path, status, err)
	}
	name := req.Method + " " + route.Path
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: options()}
	var problems []string
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && (status < 400 || status >= 500) {
		problems = append(problems, fmt.Sprintf("the document refuses the request, yet it was answered %d: %v", status, err))
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header,
		Body: io.NopCloser(strings.NewReader(string(body))), Options: options(),
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		problems = append(problems, fmt.Sprintf("the %d answer leaves the document: %v", status, err))
	}
	if len(problems) == 0 {
		return ""
	}
	return fmt.Sprintf("api/openapi.yaml, %s (%s): %s", name, req.URL.RequestURI(), strings.Join(problems, "; "))
}

// HasRoute reports whether the document has an operation for routeKey, as
// API Gateway writes it ("GET /connections/{connection_id}").
func (c *Contract) HasRoute(routeKey string) bool {
	method, path, _ := strings.Cut(routeKey, " ")
	item := c.doc.Paths.Value(path)
	return item != nil && item.GetOperation(method) != nil
}
