package validate

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// podOf builds the Pod a controller would create from a workload's
// template: the template's metadata and spec, owned by the controller
// (a Job for Jobs and CronJobs).
func podOf(tpl *workload.Template) *corev1.Pod {
	owner := tpl.Kind
	switch owner {
	case "CronJob":
		owner = "Job"
	case "Deployment":
		owner = "ReplicaSet"
	}
	yes := true
	pod := &corev1.Pod{
		ObjectMeta: *tpl.PodMeta.DeepCopy(),
		Spec:       *tpl.Spec.DeepCopy(),
	}
	pod.GenerateName = workload.Name(tpl.Meta) + "-"
	pod.OwnerReferences = []metav1.OwnerReference{{Kind: owner, Name: workload.Name(tpl.Meta), Controller: &yes}}
	return pod
}

// deniedAt returns the denied violations keyed by rule and the path under
// the pod spec (or the Pods' metadata), so that a workload and its Pods
// can be compared.
func deniedAt(vs []Violation, tpl *workload.Template) map[string]bool {
	out := map[string]bool{}
	for _, v := range Denied(vs) {
		path := v.Path
		if rest, ok := strings.CutPrefix(path, tpl.SpecPath.String()); ok {
			path = "spec" + rest
		} else if rest, ok := strings.CutPrefix(path, podMetaPath(tpl).String()); ok {
			path = "metadata" + rest
		}
		out[v.Rule.ID+"@"+path] = true
	}
	return out
}

// TestAdmittedWorkloadsNeverHaveTheirPodsDenied checks the consistency
// invariant over every fixture, with the built-in policy and with one that
// also switches on the rules that need settings: what the Pods of a
// workload will be denied for, once the Pod mutation has run, the workload
// is denied for already.
func TestAdmittedWorkloadsNeverHaveTheirPodsDenied(t *testing.T) {
	for _, pol := range []struct {
		name string
		p    *policy.Policy
	}{{"built-in policy", policy.Default()}, {"configured policy", configuredPolicy()}} {
		t.Run(pol.name, func(t *testing.T) { checkInvariantOverFixtures(t, pol.p) })
	}
}

func checkInvariantOverFixtures(t *testing.T, p *policy.Policy) {
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".yaml" {
			return err
		}
		for _, tpl := range loadRun(t, path).templates {
			if tpl.Kind == "Pod" || !tpl.HasPods() {
				continue // a Pod is its own workload; a budget has no Pods
			}
			t.Run(path+"/"+tpl.Kind, func(t *testing.T) {
				workloadDenied := deniedAt(evaluate(t, Registry(), p, Input{Template: tpl, Defaulted: defaultedCopy(t, tpl)}), tpl)

				podTpl, err := workload.Find(podOf(tpl))
				if err != nil {
					t.Fatal(err)
				}
				podDenied := deniedAt(evaluate(t, Registry(), p, Input{Template: podTpl, Defaulted: defaultedCopy(t, podTpl)}), podTpl)

				for key := range podDenied {
					if !workloadDenied[key] {
						t.Errorf("the %s is admitted but its Pods are denied for %s", tpl.Kind, key)
					}
				}
				for key := range workloadDenied {
					if !podDenied[key] {
						t.Errorf("the %s is denied for %s, which its Pods are not", tpl.Kind, key)
					}
				}
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
