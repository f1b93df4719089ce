package validate

import "testing"

func TestNamespaceQuotaMessages(t *testing.T) {
	expectMessages(t, "namespace-quota", []messageCase{
		{name: "bare.yaml", file: "fail/bare.yaml", want: []string{
			"[namespace-quota] Namespace \"team\": namespace has no ResourceQuota in the documents checked, so its workloads may claim the whole cluster (metadata.name): create a ResourceQuota: {apiVersion: v1, kind: ResourceQuota, metadata: {name: quota, namespace: team}, spec: {hard: {requests.cpu: \"8\", requests.memory: 16Gi, limits.memory: 16Gi, pods: \"50\"}}}",
			"[namespace-quota] Namespace \"team\": namespace has no LimitRange in the documents checked, so a container that sets no resources runs unbounded (outside plimsoll's defaulting) (metadata.name): create a LimitRange: {apiVersion: v1, kind: LimitRange, metadata: {name: defaults, namespace: team}, spec: {limits: [{type: Container, defaultRequest: {cpu: 100m, memory: 128Mi}, default: {memory: 256Mi}}]}}",
		}},
		{name: "quota-in-another-namespace.yaml", file: "fail/quota-in-another-namespace.yaml", want: []string{
			"[namespace-quota] Namespace \"team\": namespace has no ResourceQuota in the documents checked, so its workloads may claim the whole cluster (metadata.name): create a ResourceQuota: {apiVersion: v1, kind: ResourceQuota, metadata: {name: quota, namespace: team}, spec: {hard: {requests.cpu: \"8\", requests.memory: 16Gi, limits.memory: 16Gi, pods: \"50\"}}}",
			"[namespace-quota] Namespace \"team\": namespace has no LimitRange in the documents checked, so a container that sets no resources runs unbounded (outside plimsoll's defaulting) (metadata.name): create a LimitRange: {apiVersion: v1, kind: LimitRange, metadata: {name: defaults, namespace: team}, spec: {limits: [{type: Container, defaultRequest: {cpu: 100m, memory: 128Mi}, default: {memory: 256Mi}}]}}",
		}},
	})
}
