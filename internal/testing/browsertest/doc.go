// Package browsertest drives a real browser, headless Chromium through
// chromedp, through the stack `make run` starts (internal/localrun): a
// connect link, GoTo's consent page on another site, the callback and the
// return_to page. It proves what only a browser can: that the binding cookie
// survives the cross-site redirect back from GoTo as browsers really apply
// SameSite. The package holds only tests and their helpers.
//
// The tests need Debian's chromium at /usr/bin/chromium (`make chromium`);
// without it they skip, and fail on CI (CI=true). They save a screenshot of
// each result page in artifacts/ at the module root.
package browsertest
