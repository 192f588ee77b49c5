// Package gotoauth connects a SaaS product to its customers' GoTo accounts
// (GoToWebinar, GoToMeeting, GoToConnect) with OAuth 2.0.
//
// It holds the pieces the connector's Lambda functions are made of, and the
// one a SaaS backend needs at run time:
//
//   - [Client] talks to GoTo's authorization server: the consent URL, the
//     code exchange and the refresh, with the raw Basic credentials GoTo
//     documents (golang.org/x/oauth2 form-encodes them, which GoTo rejects for
//     secrets containing '+', '/' or '=').
//   - [Token] keeps every field GoTo returns; [Classify] sorts failures into
//     permanent (the customer must reconnect), transient (try again later)
//     and configuration (the operator must fix the client).
//   - [SignLink] and [VerifyLink] mint and check the signed connect links a
//     SaaS backend sends its customers to.
//   - [Store] keeps connections in DynamoDB.
//   - [TokenSource] hands a SaaS backend a valid access token for a
//     connection, refreshing it on demand, safely alongside the scheduled
//     refresh.
//
// Package gototest, beside this one, is a GoTo-compatible authorization
// server for tests, in the spirit of net/http/httptest.
package gotoauth
