package audit_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/plimsoll/plimsoll/audit"
	"github.com/plimsoll/plimsoll/policy"
)

// A Pod that names an exempted DaemonSet which does not exist, with that
// UID, in the cluster is judged as itself: the audit believes an owner
// only after it has found it.
func TestRunBelievesAnOwnerOnlyWhenItFindsIt(t *testing.T) {
	ns := "team-a"
	p := policy.Default()
	p.Exemptions = []policy.Exemption{{Reason: "node agent", Namespaces: []string{ns}, Kinds: []string{"DaemonSet"}, Names: []string{"agent"}}}
	objs := []runtime.Object{
		namespace(ns, mode("enforce")),
		// No DaemonSet "agent" exists: the claim is the Pod's word only.
		pod(ns, "agent-claim", latest(goodSpec()), controlledBy("apps/v1", "DaemonSet", ns, "agent")),
	}
	c, _ := paginated(t, objs)
	r := runAudit(t, c, audit.Options{Policy: p})
	i := slices.IndexFunc(r.Objects, func(ob *audit.Object) bool { return ob.Kind == "Pod" })
	if len(r.Objects) != 2 || i < 0 || !r.Objects[i].Denied() { // the Pod, and the namespace (namespace-quota)
		t.Fatalf("the Pod claiming a DaemonSet nobody found must be judged as itself and denied; objects: %+v", r.Objects)
	}
}

func TestRunListsNamespacesWithAnUnknownMode(t *testing.T) {
	objs := []runtime.Object{
		namespace("team-a", mode("enforce")),
		namespace("team-b", mode("enforced")),
		namespace("team-c", mode("Audit")),
		namespace("team-d", mode("off")),
		namespace("team-e", nil),
	}
	c, _ := paginated(t, objs)
	r := runAudit(t, c, audit.Options{})
	want := []audit.UnknownMode{{Namespace: "team-b", Value: "enforced"}, {Namespace: "team-c", Value: "Audit"}}
	if diff := cmp.Diff(want, r.UnknownModes); diff != "" {
		t.Errorf("unknown modes (-want +got):\n%s", diff)
	}
	var text bytes.Buffer
	r.WriteText(&text, false)
	for _, s := range []string{`namespace team-b: plimsoll.dev/mode="enforced"`, `namespace team-c: plimsoll.dev/mode="Audit"`, "write enforce, warn, audit or off"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("the text report does not say %q:\n%s", s, text.String())
		}
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"unknownModes": [`) || !strings.Contains(js.String(), `"value": "enforced"`) {
		t.Errorf("the JSON report does not list the unknown modes:\n%s", js.String())
	}
}
