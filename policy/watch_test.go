package policy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plimsoll/plimsoll/policy"
)

// replace writes content to path whole, as a ConfigMap volume's symlink
// swap does: the watcher never reads half a file.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

const header = "apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\n"

// TestWatcher: a changed file is loaded again; an invalid or missing file
// never replaces the policy in force, and is reported once, not on every
// tick; the file coming back is loaded even if its content is what was
// last good; Run returns when its context ends.
func TestWatcher(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	loads := make(chan *policy.Policy, 16)
	errs := make(chan error, 16)
	w := &policy.Watcher{
		Path: path, KnownRules: []string{"image-tag", "privileged"}, Interval: 2 * time.Millisecond,
		OnLoad:  func(p *policy.Policy) { loads <- p },
		OnError: func(err error) { errs <- err },
	}
	if _, err := w.LoadNow(); err == nil {
		t.Fatal("LoadNow of a missing file succeeded")
	}
	replace(t, path, header+"rules:\n  no-such-rule: off\n")
	if _, err := w.LoadNow(); err == nil || !strings.Contains(err.Error(), "no-such-rule") {
		t.Fatalf("LoadNow of a policy naming an unknown rule: %v", err)
	}
	good := header + "rules:\n  image-tag: off\n"
	replace(t, path, good)
	p, err := w.LoadNow()
	if err != nil || p.Severity("image-tag", policy.Error) != policy.Off {
		t.Fatalf("LoadNow = %v, %v", p, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()

	const wait = 5 * time.Second
	quiet := func(what string) {
		t.Helper()
		select {
		case p := <-loads:
			t.Fatalf("%s: loaded %v", what, p.Rules)
		case err := <-errs:
			t.Fatalf("%s: error %v", what, err)
		case <-time.After(40 * time.Millisecond): // 20 ticks
		}
	}
	loaded := func(what, rule string, want policy.Severity) {
		t.Helper()
		select {
		case p := <-loads:
			if got := p.Severity(rule, policy.Error); got != want {
				t.Fatalf("%s: %s is %s, want %s", what, rule, got, want)
			}
		case err := <-errs:
			t.Fatalf("%s: error %v", what, err)
		case <-time.After(wait):
			t.Fatalf("%s: not loaded", what)
		}
	}
	failed := func(what, want string) {
		t.Helper()
		select {
		case p := <-loads:
			t.Fatalf("%s: loaded %v", what, p.Rules)
		case err := <-errs:
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("%s: error %v, want it to contain %q", what, err, want)
			}
		case <-time.After(wait):
			t.Fatalf("%s: no error", what)
		}
	}

	quiet("an unchanged file")
	replace(t, path, header+"rules:\n  privileged: warning\n")
	loaded("a changed file", "privileged", policy.Warning)
	quiet("the same content again")

	replace(t, path, header+"rules:\n  privileged: maybe\n")
	failed("an invalid file", "severity must be error, warning or off")
	quiet("the same invalid file")

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	failed("a removed file", "no such file")
	quiet("a file still missing")

	replace(t, path, header+"rules:\n  privileged: maybe\n")
	failed("the invalid file back", "severity must be error, warning or off")
	replace(t, path, good)
	loaded("the first good file back", "image-tag", policy.Off)

	cancel()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Run did not return when its context ended")
	}
}

// TestWatcherStopsWithoutAnInterval: without an interval Run takes its
// default, loads nothing unchanged, and returns when its context ends.
func TestWatcherStopsWithoutAnInterval(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	replace(t, path, header)
	w := &policy.Watcher{Path: path, OnLoad: func(*policy.Policy) { t.Error("loaded an unchanged file") }, OnError: func(err error) { t.Error(err) }}
	if _, err := w.LoadNow(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	w.Run(ctx)
}

func TestWaiverString(t *testing.T) {
	if got := (policy.Waiver{Source: "policy", Reason: "vendor agent", Index: 2}).String(); got != "exempted by policy exemption 2 (vendor agent)" {
		t.Errorf("policy waiver: %q", got)
	}
	if got := (policy.Waiver{Source: "annotation", Reason: "annotation plimsoll.dev/exempt: *"}).String(); got != "exempted by the annotation plimsoll.dev/exempt" {
		t.Errorf("annotation waiver: %q", got)
	}
}
