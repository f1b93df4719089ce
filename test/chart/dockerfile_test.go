package chart

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// There is no container engine here; this reads the Dockerfile for what
// the image promises: pinned base images, a static binary built like
// `make build`, a distroless runtime with no shell, a numeric non-root
// USER matching the chart's runAsUser.
func TestDockerfile(t *testing.T) {
	root, _ := RepoRoot()
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var froms, users, runtimeRuns []string
	var entrypoint string
	stages := 0
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			froms = append(froms, fields[1])
			stages++
		case "USER":
			users = append(users, fields[1])
		case "RUN":
			if stages > 1 {
				runtimeRuns = append(runtimeRuns, line)
			}
		case "ENTRYPOINT":
			entrypoint = strings.TrimSpace(strings.TrimPrefix(line, fields[0]))
		}
	}
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, got FROM %v", froms)
	}
	pinned := regexp.MustCompile(`^[a-z0-9./-]+:[A-Za-z0-9._-]+(@sha256:[a-f0-9]{64})?$`)
	for _, f := range froms {
		if !pinned.MatchString(f) || strings.HasSuffix(strings.SplitN(f, "@", 2)[0], ":latest") {
			t.Errorf("FROM %s is not pinned to a tag or digest", f)
		}
	}
	if !regexp.MustCompile(`^golang:\d+\.\d+`).MatchString(froms[0]) {
		t.Errorf("the builder %s is not a versioned golang image", froms[0])
	}
	if rt := froms[len(froms)-1]; !strings.HasPrefix(rt, "gcr.io/distroless/static") || !strings.Contains(rt, "nonroot") {
		t.Errorf("the runtime image %s is not distroless static nonroot (no shell, no libc)", rt)
	}
	if len(runtimeRuns) > 0 {
		t.Errorf("the runtime stage runs commands, which needs a shell: %v", runtimeRuns)
	}
	if len(users) == 0 || !regexp.MustCompile(`^[1-9][0-9]*:[1-9][0-9]*$`).MatchString(users[len(users)-1]) {
		t.Errorf("USER %v: want a numeric non-root uid:gid", users)
	} else if users[len(users)-1] != "65532:65532" {
		t.Errorf("USER %s differs from the chart's runAsUser/runAsGroup 65532", users[len(users)-1])
	}
	if !strings.HasPrefix(entrypoint, "[") {
		t.Errorf("ENTRYPOINT %s: use the exec form (there is no shell)", entrypoint)
	}
	s := string(data)
	if !strings.Contains(s, "CGO_ENABLED=0") || !strings.Contains(s, "make build") {
		t.Error("the binary must be built by `make build` with CGO_ENABLED=0")
	}
	makefile, _ := os.ReadFile(filepath.Join(root, "Makefile"))
	if !regexp.MustCompile(`(?m)^build:\n\t\$\(GO\) build -trimpath `).Match(makefile) {
		t.Error("make build no longer runs go build -trimpath: the image would not be reproducible")
	}
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "bin/"} {
		if !strings.Contains(string(ignore), want) {
			t.Errorf(".dockerignore does not leave out %s", want)
		}
	}
}
