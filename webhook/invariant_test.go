package webhook_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plimsoll/plimsoll/validate"
)

// fullFixture is a handler running every rule of the registry, as the
// server does.
func fullFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	f.h.Rules = validate.Registry()
	return f
}

// objectFixtures are the fixtures of whole objects (not fragments).
func objectFixtures(t *testing.T) map[string][]byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, n := range names {
		obj := load(t, filepath.Base(n))
		var tm struct{ Kind string }
		if err := json.Unmarshal(obj, &tm); err != nil {
			t.Fatal(err)
		}
		if tm.Kind != "" {
			out[filepath.Base(n)] = obj
		}
	}
	if len(out) < 10 {
		t.Fatalf("only %d object fixtures", len(out))
	}
	return out
}

func TestFullRegistry(t *testing.T) {
	f := fullFixture(t)
	t.Run("a privileged Pod is denied for each of its dangers", func(t *testing.T) {
		a := f.send(t, "/validate/enforce", create(load(t, "pod-privileged.yaml")).body(t))
		for _, id := range []string{"[privileged]", "[host-namespaces]", "[image-tag]"} {
			if a.resp.Allowed || !strings.Contains(a.message(), id) {
				t.Errorf("allowed=%v, want denied listing %s:\n%s", a.resp.Allowed, id, a.message())
			}
		}
	})
	t.Run("a Deployment on the latest tag is denied", func(t *testing.T) {
		a := f.send(t, "/validate/enforce", create(load(t, "deployment-latest.yaml")).body(t))
		if a.resp.Allowed || !strings.Contains(a.message(), "[image-tag]") {
			t.Errorf("allowed=%v, want denied by image-tag:\n%s", a.resp.Allowed, a.message())
		}
	})
	t.Run("the compliant Deployment is admitted", func(t *testing.T) {
		a := f.send(t, "/validate/enforce", create(load(t, "deployment-compliant.yaml")).body(t))
		if !a.resp.Allowed {
			t.Errorf("denied:\n%s", a.message())
		}
	})
}

// TestModesNeverRefuseMoreThanEnforce holds, for every fixture and the
// full registry, that warn admits whatever it judges and audit admits it
// silently, while enforce denies only with a Forbidden status; and that
// audit's would-deny is what enforce does. A Pod CREATE reaches
// /validate/{enforce,warn} as that mode's /mutate left it (validating
// webhooks run after mutating ones), and /validate/audit as sent (audit
// does not apply its defaults, and judges as if it had).
func TestModesNeverRefuseMoreThanEnforce(t *testing.T) {
	f := fullFixture(t)
	for name, obj := range objectFixtures(t) {
		t.Run(name, func(t *testing.T) {
			body := create(obj).body(t)
			asMutated := func(mode string) []byte {
				var tm struct{ Kind string }
				if err := json.Unmarshal(obj, &tm); err != nil {
					t.Fatal(err)
				}
				if tm.Kind != "Pod" {
					return body
				}
				m := f.send(t, "/mutate/"+mode, body)
				if !m.resp.Allowed {
					t.Fatalf("/mutate/%s refused: %s", mode, m.message())
				}
				return create(applyPatch(t, obj, m.resp)).body(t)
			}
			enforce := f.send(t, "/validate/enforce", asMutated("enforce"))
			warn := f.send(t, "/validate/warn", asMutated("warn"))
			audit := f.send(t, "/validate/audit", body)
			if !enforce.resp.Allowed && enforce.code() != 403 {
				t.Errorf("enforce refused with code %d: %s", enforce.code(), enforce.message())
			}
			if !warn.resp.Allowed {
				t.Errorf("warn refused: %s", warn.message())
			}
			if !audit.resp.Allowed || len(audit.resp.Warnings) > 0 {
				t.Errorf("audit: allowed=%v warnings=%q, want admitted silently", audit.resp.Allowed, audit.resp.Warnings)
			}
			if !enforce.resp.Allowed {
				if len(warn.resp.Warnings) == 0 {
					t.Error("enforce denies but warn says nothing")
				}
				if audit.resp.AuditAnnotations["decision"] != "would-deny" {
					t.Errorf("enforce denies but audit records %v", audit.resp.AuditAnnotations)
				}
			} else if audit.resp.AuditAnnotations["decision"] == "would-deny" {
				t.Errorf("enforce admits but audit records would-deny: %v", audit.resp.AuditAnnotations)
			}
		})
	}
}

// TestAdmittedWorkloadsHaveTheirPodsAdmitted holds the consistency
// invariant (pipeline.Evaluate: a workload is judged as defaulting will
// leave its Pods) with every rule on: a workload admitted in enforce has
// Pods that, once the mutating webhook has patched them, the
// validating webhook admits too.
func TestAdmittedWorkloadsHaveTheirPodsAdmitted(t *testing.T) {
	f := fullFixture(t)
	admitted := 0
	for name, obj := range objectFixtures(t) {
		var m map[string]any
		if err := json.Unmarshal(obj, &m); err != nil {
			t.Fatal(err)
		}
		if m["kind"] != "Deployment" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			if a := f.send(t, "/validate/enforce", create(obj).body(t)); !a.resp.Allowed {
				t.Skipf("not admitted: %s", a.message())
			}
			admitted++
			// The Pod the ReplicaSet controller creates from the template.
			tpl := m["spec"].(map[string]any)["template"].(map[string]any)
			meta, _ := tpl["metadata"].(map[string]any)
			if meta == nil {
				meta = map[string]any{}
			}
			meta["generateName"] = m["metadata"].(map[string]any)["name"].(string) + "-7d9f8c-"
			meta["namespace"] = "team-a"
			pod, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": tpl["spec"]})
			if err != nil {
				t.Fatal(err)
			}
			m := f.send(t, "/mutate/enforce", create(pod).body(t))
			if !m.resp.Allowed {
				t.Fatalf("the Pod was not defaulted: %s", m.message())
			}
			patched := applyPatch(t, pod, m.resp)
			if v := f.send(t, "/validate/enforce", create(patched).body(t)); !v.resp.Allowed {
				t.Errorf("the Deployment was admitted but its Pod is denied:\n%s", v.message())
			}
		})
	}
	if admitted == 0 {
		t.Fatal("no Deployment fixture was admitted: the invariant was not exercised")
	}
}
