// Package connid checks connection ids: the SaaS's own name for a
// connection, in connect links, the table and the Connections API.
package connid

// MaxLength is the longest connection id accepted.
const MaxLength = 128

// Valid reports whether id is 1 to 128 characters from
// A-Z a-z 0-9 . _ : -.
func Valid(id string) bool {
	if len(id) == 0 || len(id) > MaxLength {
		return false
	}
	for _, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == ':' || r == '-') {
			return false
		}
	}
	return true
}
