package audit_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/plimsoll/plimsoll/audit"
)

// TestRunListsInProtobuf audits an API server of one opted-in namespace
// through Config, as `plimsoll audit` does: every List asks for protobuf
// (JSON as the fallback), page by page, as plimsoll-audit; what the
// context rules read first.
func TestRunListsInProtobuf(t *testing.T) {
	lists := map[string]string{ // resource: its List's apiVersion and kind
		"namespaces": "v1 NamespaceList", "pods": "v1 PodList", "replicationcontrollers": "v1 ReplicationControllerList",
		"deployments": "apps/v1 DeploymentList", "replicasets": "apps/v1 ReplicaSetList", "statefulsets": "apps/v1 StatefulSetList",
		"daemonsets": "apps/v1 DaemonSetList", "jobs": "batch/v1 JobList", "cronjobs": "batch/v1 CronJobList",
		"poddisruptionbudgets": "policy/v1 PodDisruptionBudgetList", "horizontalpodautoscalers": "autoscaling/v2 HorizontalPodAutoscalerList",
		"resourcequotas": "v1 ResourceQuotaList", "limitranges": "v1 LimitRangeList", "serviceaccounts": "v1 ServiceAccountList",
		"configmaps": "v1 ConfigMapList", "networkpolicies": "networking.k8s.io/v1 NetworkPolicyList",
	}
	var mu sync.Mutex
	var requests []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, fmt.Sprintf("%s %s?%s accept=%s agent=%s", r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Accept"), r.Header.Get("User-Agent")))
		mu.Unlock()
		av, kind, ok := strings.Cut(lists[path.Base(r.URL.Path)], " ")
		if !ok {
			http.NotFound(w, r)
			return
		}
		items := "[]"
		if kind == "NamespaceList" {
			items = `[{"metadata":{"name":"team-a","labels":{"plimsoll.dev/mode":"enforce"}}}]`
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"apiVersion":%q,"kind":%q,"metadata":{},"items":%s}`, av, kind, items)
	}))
	defer srv.Close()

	r, err := audit.Run(context.Background(), audit.Options{Config: &rest.Config{Host: srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Namespaces) != 1 {
		t.Errorf("audited %d namespaces, want team-a", len(r.Namespaces))
	}
	const tail = " accept=application/vnd.kubernetes.protobuf,application/json agent=plimsoll-audit"
	want := []string{"GET /api/v1/namespaces?limit=500" + tail,
		// What the context rules read, first.
		"GET /apis/policy/v1/namespaces/team-a/poddisruptionbudgets?limit=500" + tail,
		"GET /apis/autoscaling/v2/namespaces/team-a/horizontalpodautoscalers?limit=500" + tail,
		"GET /api/v1/namespaces/team-a/resourcequotas?limit=500" + tail,
		"GET /api/v1/namespaces/team-a/limitranges?limit=500" + tail,
		"GET /api/v1/namespaces/team-a/serviceaccounts?limit=500" + tail,
		"GET /apis/networking.k8s.io/v1/namespaces/team-a/networkpolicies?limit=500" + tail,
		// trivy-operator's reports, a custom resource (served as JSON,
		// the fallback asked for), not installed here (404): the audit
		// goes on without them.
		"GET /apis/aquasecurity.github.io/v1alpha1/namespaces/team-a/vulnerabilityreports?limit=1" + tail,
	}
	for _, res := range []string{"batch/v1/namespaces/team-a/cronjobs", "batch/v1/namespaces/team-a/jobs", "apps/v1/namespaces/team-a/deployments",
		"apps/v1/namespaces/team-a/replicasets", "apps/v1/namespaces/team-a/statefulsets", "apps/v1/namespaces/team-a/daemonsets"} {
		want = append(want, "GET /apis/"+res+"?limit=500"+tail)
	}
	// ConfigMaps last (configmap-secrets).
	for _, res := range []string{"replicationcontrollers", "pods", "configmaps"} {
		want = append(want, "GET /api/v1/namespaces/team-a/"+res+"?limit=500"+tail)
	}
	if !slices.Equal(requests, want) {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(requests, "\n"), strings.Join(want, "\n"))
	}
}
