package webhook_test

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// gauge reads an unlabelled gauge from /metrics (-1 if absent).
func (ts *testServer) gauge(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get(ts.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	return -1
}

// A policy that exempts by kind and name in every namespace is loaded, but
// plimsoll says so: a warning in the log, once per policy, and
// plimsoll_policy_advice counting it. Fixing the policy clears the count.
func TestServeWarnsAboutAnExemptionByNameInEveryNamespace(t *testing.T) {
	ts := startServer(t, nil)
	if n := ts.gauge(t, "plimsoll_policy_advice"); n != 0 {
		t.Fatalf("plimsoll_policy_advice = %v with no exemption, want 0", n)
	}
	const head = "apiVersion: plimsoll.dev/v1alpha1\nkind: Policy\n"
	writeAtomically(t, ts.policy, head+"exemptions:\n- reason: the node agent\n  kinds: [DaemonSet]\n  names: [agent]\n")
	eventually(t, 10e9, "the advice to be counted", func() bool {
		return ts.gauge(t, "plimsoll_policy_advice") == 1
	})
	lines := withMsg(ts.log.lines(t), "the policy is loaded, but look at this")
	if len(lines) != 1 || lines[0]["level"] != "WARN" || !strings.Contains(lines[0]["advice"].(string), "exemptions[0] (the node agent)") {
		t.Errorf("want one WARN line naming exemptions[0], got %v", lines)
	}
	writeAtomically(t, ts.policy, head+"exemptions:\n- reason: the node agent\n  namespaces: [monitoring]\n  kinds: [DaemonSet]\n  names: [agent]\n")
	eventually(t, 10e9, "the advice to clear", func() bool {
		return ts.gauge(t, "plimsoll_policy_advice") == 0
	})
}
