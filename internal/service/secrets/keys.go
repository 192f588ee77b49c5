package secrets

import (
	"encoding/base64"
	"fmt"
)

// ParseTokenKeys decodes keys given as base64 (standard or URL alphabet,
// padded or not), as they are held in the Secrets Manager secret.
func ParseTokenKeys(encoded map[string]string) (map[string][]byte, error) {
	keys := make(map[string][]byte, len(encoded))
	for id, s := range encoded {
		var key []byte
		var err error
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if key, err = enc.DecodeString(s); err == nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("token encryption key %q is not base64", id)
		}
		keys[id] = key
	}
	return keys, nil
}
