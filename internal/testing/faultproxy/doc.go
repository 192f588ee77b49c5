// Package faultproxy is an HTTP reverse proxy that injects faults between an
// AWS SDK client and DynamoDB Local, for fault-injection tests and the soak
// (make soak).
//
// DynamoDB speaks JSON 1.0 over plain HTTP: every call is a POST to "/" and
// its operation is in the X-Amz-Target header ("DynamoDB_20120810.UpdateItem"
// is the operation "UpdateItem"). The proxy forwards each request unchanged
// and, depending on its current mode, fails it the way an outage would:
//
//	p, err := faultproxy.Start(dynamoDBLocalURL)
//	if err != nil { ... }
//	defer p.Close()
//	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
//		o.BaseEndpoint = aws.String(p.URL())
//	})
//	p.Cut()     // a network cut: connections are reset, nothing answers
//	p.Restore() // healthy again
//
// Modes, switchable at any time from any goroutine:
//
//   - pass-through (the start, and after Restore): requests are forwarded.
//   - Cut: every request, new or in flight, fails at the connection level:
//     the proxy closes the client's connection with a TCP reset and never
//     answers. A request already forwarded may have been applied by
//     DynamoDB: the client cannot tell, as with a real cut.
//   - Hang: a network partition. Requests are held without an answer (and
//     without reaching DynamoDB) until Restore; then the ones whose client is
//     still waiting are forwarded, and the ones whose client gave up are
//     dropped. A request already forwarded when Hang starts completes.
//   - Throttle: every request is answered with DynamoDB's
//     ThrottlingException (HTTP 400), which the SDK retries and then reports
//     as *types.ThrottlingException / API error code "ThrottlingException".
//
// Independently of the mode, LoseAnswers(n) lets the next n requests reach
// DynamoDB and drops their answers (a write applied whose client sees a
// connection reset), and Delay(d) adds d of latency before each request
// is forwarded. Only(ops...) restricts every fault (mode, delay, lost answers) to those
// operations; the others pass through. OnRequest registers a hook called with
// the operation of every request. Counts and Faults report what went through
// and what was injected.
//
// Close stops the listener, resets held and in-flight requests, and returns
// once every handler has returned.
package faultproxy
