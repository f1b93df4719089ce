package chart

import (
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// config/ is what the chart renders: rendering it again gives the same
// bytes. A change to the chart (or a hand edit of a generated file) fails
// here until `make generate` is run.
func TestConfigIsGeneratedFromTheChart(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	stale, err := StaleConfig(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) > 0 {
		t.Errorf("config/ is stale: run %s and commit the result.\n%s", RegenerateCommand, strings.Join(stale, "\n"))
	}
}

// Every generated file is a resource of the kustomization beside it, so
// kustomize installs what the chart renders, all of it.
func TestKustomizationsListEveryGeneratedFile(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := GenerateConfig()
	if err != nil {
		t.Fatal(err)
	}
	byDir := map[string][]string{}
	for f := range files {
		byDir[path.Dir(f)] = append(byDir[path.Dir(f)], path.Base(f))
	}
	for dir, generated := range byDir {
		listed, err := KustomizationResources(filepath.Join(root, dir, "kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range generated {
			if !slices.Contains(listed, f) {
				t.Errorf("%s/kustomization.yaml does not list %s, which `make generate` writes from the chart", dir, f)
			}
		}
	}
}
