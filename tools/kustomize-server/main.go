// tide-kustomize builds kustomizations with the kustomize library (sigs.k8s.io/kustomize/api,
// the version kubectl 1.35 embeds), as `kubectl kustomize DIR --load-restrictor
// LoadRestrictionsNone` does, but stays running: Tide sends one JSON request a line on stdin and
// reads one JSON answer a line on stdout. Starting kubectl costs about 95 ms of CPU a build; a
// build here costs what kustomize's own work costs.
//
// Request:  {"id": 1, "dir": "/abs/overlay", "root": "/abs/tree", "yaml": false}
// Answer:   {"id": 1, "objects": [{...}, ...]} or {"id": 1, "error": "..."}
//
// The objects are in kustomize's output order, as JSON (kustomize's YAML output is made from
// the same JSON, so nothing is lost, and JSON costs Tide far less to read than YAML). With
// "yaml": true each object's YAML, as `kubectl kustomize` prints it, comes too (in "yaml"),
// for postBuild substitution, which Flux does on that text.
//
// Builds run one at a time (kustomize keeps global state: its OpenAPI schema, which a
// kustomization's `openapi:` field replaces, is reset after every build). Every file read must
// resolve, symlinks followed, inside "root"; plugins, exec functions and Helm are off, and the
// process is started with no PATH, so a remote base cannot be fetched either.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	"sigs.k8s.io/yaml"
)

type request struct {
	ID   int64  `json:"id"`
	Dir  string `json:"dir"`
	Root string `json:"root"`
	YAML bool   `json:"yaml"`
}

type answer struct {
	ID      int64             `json:"id"`
	Objects []json.RawMessage `json:"objects,omitempty"`
	YAML    []string          `json:"yaml,omitempty"`
	Error   string            `json:"error,omitempty"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println(version())
		return
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64<<10), 16<<20)
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			_ = out.Encode(answer{Error: "bad request: " + err.Error()})
			continue
		}
		a, err := build(req)
		if err != nil {
			a = answer{ID: req.ID, Error: err.Error()}
		}
		if err := out.Encode(a); err != nil {
			os.Exit(1)
		}
	}
}

func build(req request) (a answer, err error) {
	defer func() {
		// kustomize panics on some malformed input; that is one failed build, not a dead server.
		if r := recover(); r != nil {
			err = fmt.Errorf("kustomize panicked: %v", r)
		}
		openapi.ResetOpenAPI()
	}()
	if req.Dir == "" || req.Root == "" {
		return a, fmt.Errorf("request needs dir and root")
	}
	fs, err := confinedFs(req.Root, req.Dir)
	if err != nil {
		return a, err
	}
	// The options `kubectl kustomize --load-restrictor LoadRestrictionsNone` uses: the order is
	// the kustomization's sortOptions, else legacy; no managed-by label; no plugins, no Helm.
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionUnspecified
	opts.LoadRestrictions = types.LoadRestrictionsNone
	opts.PluginConfig = types.DisabledPluginConfig()
	m, err := krusty.MakeKustomizer(opts).Run(fs, req.Dir)
	if err != nil {
		return a, err
	}
	a = answer{ID: req.ID, Objects: []json.RawMessage{}}
	for _, res := range m.Resources() {
		j, err := res.MarshalJSON()
		if err != nil {
			return a, fmt.Errorf("%s: %w", res.CurId(), err)
		}
		a.Objects = append(a.Objects, j)
		if req.YAML {
			y, err := yaml.JSONToYAML(j)
			if err != nil {
				return a, fmt.Errorf("%s: %w", res.CurId(), err)
			}
			a.YAML = append(a.YAML, string(y))
		}
	}
	return a, nil
}

var _ filesys.FileSystem = confined{}

// version names the kustomize library this binary was built with.
func version() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "sigs.k8s.io/kustomize/api" {
				return "kustomize/api " + d.Version
			}
		}
	}
	return "unknown"
}
