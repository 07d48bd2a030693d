package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// confined is the disk, read-only, where every path must resolve (symlinks followed) inside
// root: the class of CVE-2022-24877 (a symlink out of the source) stops here even if a path got
// past Tide's own checks. Relative paths are taken from dir, as kubectl's working directory was.
type confined struct {
	disk filesys.FileSystem
	root string
	dir  string
}

func confinedFs(root, dir string) (confined, error) {
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return confined{}, fmt.Errorf("source root %s: %w", root, err)
	}
	return confined{disk: filesys.MakeFsOnDisk(), root: real, dir: dir}, nil
}

// check answers the path to use, or an error naming the path relative to the root.
func (c confined) check(path string) (string, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(c.dir, path)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		// A missing file is kustomize's own error to report; nothing was read.
		return path, nil
	}
	if real != c.root && !strings.HasPrefix(real, c.root+string(filepath.Separator)) {
		return "", fmt.Errorf("%s resolves outside the source tree; only files inside the source can be loaded", c.rel(path))
	}
	return path, nil
}

func (c confined) rel(path string) string {
	if r, err := filepath.Rel(c.root, path); err == nil {
		return r
	}
	return path
}

func (c confined) readOnly(path string) error {
	return fmt.Errorf("%s: the build may not write files", c.rel(path))
}

func (c confined) Create(path string) (filesys.File, error) { return nil, c.readOnly(path) }
func (c confined) Mkdir(path string) error                  { return c.readOnly(path) }
func (c confined) MkdirAll(path string) error               { return c.readOnly(path) }
func (c confined) RemoveAll(path string) error              { return c.readOnly(path) }
func (c confined) WriteFile(path string, _ []byte) error    { return c.readOnly(path) }

func (c confined) Open(path string) (filesys.File, error) {
	p, err := c.check(path)
	if err != nil {
		return nil, err
	}
	return c.disk.Open(p)
}

func (c confined) IsDir(path string) bool {
	p, err := c.check(path)
	return err == nil && c.disk.IsDir(p)
}

func (c confined) ReadDir(path string) ([]string, error) {
	p, err := c.check(path)
	if err != nil {
		return nil, err
	}
	return c.disk.ReadDir(p)
}

func (c confined) CleanedAbs(path string) (filesys.ConfirmedDir, string, error) {
	p, err := c.check(path)
	if err != nil {
		return "", "", err
	}
	return c.disk.CleanedAbs(p)
}

func (c confined) Exists(path string) bool {
	p, err := c.check(path)
	return err == nil && c.disk.Exists(p)
}

func (c confined) Glob(pattern string) ([]string, error) {
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(c.dir, pattern)
	}
	matches, err := c.disk.Glob(pattern)
	if err != nil {
		return nil, err
	}
	inside := matches[:0]
	for _, m := range matches {
		if _, err := c.check(m); err == nil {
			inside = append(inside, m)
		}
	}
	return inside, nil
}

func (c confined) ReadFile(path string) ([]byte, error) {
	p, err := c.check(path)
	if err != nil {
		return nil, err
	}
	return c.disk.ReadFile(p)
}

func (c confined) Walk(path string, walkFn filepath.WalkFunc) error {
	p, err := c.check(path)
	if err != nil {
		return err
	}
	return c.disk.Walk(p, walkFn)
}
