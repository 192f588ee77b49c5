package devenv

import (
	"fmt"
	"os"
	"path/filepath"
)

// ModuleRoot returns the nearest folder at or above dir that holds a go.mod:
// where .cache/, template.yaml and the Makefile are.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod at or above %s", dir)
		}
		d = parent
	}
}
