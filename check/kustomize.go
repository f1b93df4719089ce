package check

// `plimsoll check -k DIR`: the kustomization in DIR is built in process,
// as `kubectl apply -k DIR` builds it, and each object it renders is
// judged as a document of -f would be. A finding points into the file the
// object came from when kustomize says which (the kustomization sets
// `buildMetadata: [originAnnotations]`) and that file writes the field;
// otherwise into the rendered stream, named RenderedName(DIR), whose
// lines are those `kustomize build DIR` prints.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// RenderedName is the file name findings in the output of the
// kustomization in dir carry when they cannot point into a source file:
// "(kustomize build DIR)", whose lines are those `kustomize build DIR`
// prints.
func RenderedName(dir string) string { return "(kustomize build " + dir + ")" }

// checkKustomization builds the kustomization in dir and judges every
// object it renders.
func (r *Report) checkKustomization(dir string, o Options) error {
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return &InputError{File: dir, Err: fmt.Errorf("kustomize build: %w", err)}
	}
	rendered := RenderedName(dir)
	sources := map[string][]byte{}
	line := 1 // where the next object begins in the rendered stream
	for i, res := range resMap.Resources() {
		doc := i + 1
		// The object as `kustomize build` prints it (resMap.AsYaml joins
		// these with "---" lines), origin annotation included.
		y, err := res.AsYAML()
		if err != nil {
			return &InputError{File: rendered, Doc: doc, Err: err}
		}
		w := where{file: rendered, loc: documentLocator(y, line)}
		line += bytes.Count(y, []byte("\n")) + 1
		if origin, err := res.GetOrigin(); err == nil && origin != nil && origin.Repo == "" && origin.Path != "" {
			file := filepath.Clean(filepath.Join(dir, origin.Path))
			if loc, ok := findObject(sources, file, res.GetKind(), res.GetName()); ok {
				w.origin = &where{file: file, loc: loc}
			}
		}
		// The annotation is kustomize's, not the manifest's: never judged.
		if err := res.SetOrigin(nil); err != nil {
			return &InputError{File: rendered, Doc: doc, Err: err}
		}
		raw, err := res.MarshalJSON()
		if err != nil {
			return &InputError{File: rendered, Doc: doc, Err: err}
		}
		if err := r.checkDocument(rendered, doc, raw, w, o); err != nil {
			return err
		}
	}
	return nil
}

// findObject finds the document of kind and name in file (read once into
// sources): the one of that kind and name, else the only one of that
// kind whose name the rendered name holds (a namePrefix or nameSuffix
// renamed it).
func findObject(sources map[string][]byte, file, kind, name string) (locator, bool) {
	data, ok := sources[file]
	if !ok {
		data, _ = os.ReadFile(file) // unreadable: no document found
		sources[file] = data
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	starts := docStarts(data)
	var renamed []locator
	for n := 0; ; n++ {
		chunk, err := reader.Read()
		if errors.Is(err, io.EOF) || err != nil {
			break
		}
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if yaml.Unmarshal(chunk, &meta) != nil || meta.Kind != kind || n >= len(starts) {
			continue
		}
		loc := documentLocator(chunk, starts[n])
		if loc.node == nil {
			continue
		}
		switch {
		case meta.Metadata.Name == name:
			return loc, true
		case meta.Metadata.Name != "" && strings.Contains(name, meta.Metadata.Name):
			renamed = append(renamed, loc)
		}
	}
	if len(renamed) == 1 {
		return renamed[0], true
	}
	return locator{}, false
}
