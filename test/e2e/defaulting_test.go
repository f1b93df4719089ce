package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/plimsoll/plimsoll/mutate"
	"github.com/plimsoll/plimsoll/pipeline"
	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// Defaulting never turns a valid Pod into an invalid one: every Pod of the
// fixtures and fuzz seed corpora that the real API server accepts as
// written (server-side dry run, in a namespace plimsoll does not judge) is
// still accepted once defaulted, under the built-in policy and under the
// other profiles.
func TestDefaultedPodsAreValidPods(t *testing.T) {
	ctx := context.Background()
	pods := corpusPods(t)
	baseline := policy.Default()
	baseline.Defaults.SecurityContext.Profile = policy.Baseline
	http := policy.Default()
	http.Defaults.Probes.Type = policy.ProbeHTTP
	http.Defaults.SecurityContext.ReadOnlyRootFilesystem = true
	policies := map[string]*policy.Policy{"built-in": policy.Default(), "baseline": baseline, "http+readOnly": http}

	valid, defaulted := 0, 0
	for i, src := range pods {
		pod := src.pod.DeepCopy()
		pod.Namespace, pod.Name, pod.GenerateName = unlabelledNS, fmt.Sprintf("corpus-%d", i), ""
		if _, err := env.Client.CoreV1().Pods(unlabelledNS).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			continue // invalid as written: not defaulting's doing
		}
		valid++
		for name, p := range policies {
			d := pod.DeepCopy()
			tpl, _ := workload.Find(d)
			if len(mutate.Template(tpl, p.Defaults)) == 0 {
				continue
			}
			defaulted++
			if _, err := env.Client.CoreV1().Pods(unlabelledNS).Create(ctx, d, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
				t.Errorf("%s: valid as written, invalid once defaulted with the %s policy: %v", src.from, name, err)
			}
		}
	}
	t.Logf("%d Pods read, %d valid as written, %d defaulted Pods checked", len(pods), valid, defaulted)
	if valid < 50 {
		t.Errorf("only %d valid Pods in the corpus: the fixtures were not read", valid)
	}
}

type corpusPod struct {
	from string
	pod  *corev1.Pod
}

var quoted = regexp.MustCompile(`(?s)^go test fuzz v1\n\[\]byte\((".*")\)\n?$`)

// corpusPods reads the Pods of the fixtures and seed corpora; a workload
// gives the Pod its controller would create.
func corpusPods(t *testing.T) []corpusPod {
	t.Helper()
	root := "../.."
	var out []corpusPod
	add := func(from string, raw []byte) {
		var tm metav1.TypeMeta
		if yaml.Unmarshal(raw, &tm) != nil {
			return
		}
		gvk := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
		if !workload.Supported(gvk) {
			return
		}
		obj, err := pipeline.Decode(raw, gvk)
		if err != nil {
			return
		}
		tpl, _ := workload.Find(obj)
		if tpl == nil || !tpl.HasPods() {
			return // a PodDisruptionBudget, an autoscaler: no pod template
		}
		pod := &corev1.Pod{ObjectMeta: *tpl.PodMeta.DeepCopy(), Spec: *tpl.Spec.DeepCopy()}
		if pod.Spec.RestartPolicy == "" && tpl.Batch() {
			pod.Spec.RestartPolicy = corev1.RestartPolicyNever
		}
		out = append(out, corpusPod{from: from, pod: pod})
	}
	for _, glob := range []string{"mutate/testdata/*/in.yaml", "validate/testdata/*/*/*.yaml", "examples/*.yaml", "test/e2e/testdata/*.yaml"} {
		files, _ := filepath.Glob(filepath.Join(root, glob))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, doc := range strings.Split(string(data), "\n---") {
				if raw, err := yaml.YAMLToJSON([]byte(doc)); err == nil {
					add(f, raw)
				}
			}
		}
	}
	seeds, _ := filepath.Glob(filepath.Join(root, "pipeline/testdata/fuzz/FuzzPipeline/*"))
	for _, f := range seeds {
		data, _ := os.ReadFile(f)
		if m := quoted.FindSubmatch(data); m != nil {
			if s, err := strconv.Unquote(string(m[1])); err == nil {
				add(f, []byte(s))
			}
		}
	}
	return out
}
