package openapitest

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Event checks a lifecycle event's detail (the JSON EventBridge receives)
// against the schema whose x-detail-type is detailType.
func Event(detailType, detail string) error {
	c, err := Load()
	if err != nil {
		return err
	}
	schema, ok := c.events[detailType]
	if !ok {
		known := make([]string, 0, len(c.events))
		for k := range c.events {
			known = append(known, k)
		}
		sort.Strings(known)
		return fmt.Errorf("api/openapi.yaml has no event schema with x-detail-type %s (it has %v)", detailType, known)
	}
	var v any
	if err := json.Unmarshal([]byte(detail), &v); err != nil {
		return fmt.Errorf("%s: the detail is not JSON: %w", detailType, err)
	}
	if err := schema.VisitJSON(v); err != nil {
		return fmt.Errorf("api/openapi.yaml: the %s detail %s leaves its schema: %w", detailType, detail, err)
	}
	return nil
}

// EventTypes lists the detail-types the document describes.
func EventTypes() ([]string, error) {
	c, err := Load()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(c.events))
	for k := range c.events {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}
