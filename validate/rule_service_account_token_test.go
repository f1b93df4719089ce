package validate

import "testing"

func TestServiceAccountTokenMessages(t *testing.T) {
	expectMessages(t, "service-account-token", []messageCase{
		{name: "the default account, not in the run", file: "fail/pod-default-account.yaml", want: []string{
			`[service-account-token] Pod "web": pod spec mounts a token of ServiceAccount "default" (the Pod does not set automountServiceAccountToken: false, and the ServiceAccount is not in the documents checked), so any process in it can call the API server as that account (spec.automountServiceAccountToken): set automountServiceAccountToken: false on the Pod (or on ServiceAccount "default"); true only if the Pod calls the API server`,
		}},
		{name: "an account that says nothing", file: "fail/deployment-account-mounts.yaml", want: []string{
			`[service-account-token] Deployment "web": pod spec mounts a token of ServiceAccount "web" (neither the Pod nor the ServiceAccount sets automountServiceAccountToken: false), so any process in it can call the API server as that account (spec.template.spec.automountServiceAccountToken): set automountServiceAccountToken: false on the Pod (or on ServiceAccount "web"); true only if the Pod calls the API server`,
		}},
	})
}

// TestServiceAccountTokenSaysNothingWithoutAccounts: a source that keeps
// no ServiceAccounts cannot tell whether the Pod's mounts a token.
func TestServiceAccountTokenSaysNothingWithoutAccounts(t *testing.T) {
	run := loadRun(t, "testdata/service-account-token/fail/pod-default-account.yaml")
	pod := run.templates[0]
	if got := serviceAccountToken.findings(pod, keepsNoReplicaSets{run.view}, fixtureNamespace, fixturePolicy("service-account-token")); len(got) != 0 {
		t.Errorf("a source without ServiceAccounts judged: %+v", got)
	}
	if got := run.findings(serviceAccountToken, pod, fixturePolicy("service-account-token")); len(got) != 1 {
		t.Errorf("with the run's ServiceAccounts: %d findings, want 1", len(got))
	}
}
