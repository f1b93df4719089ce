package workload_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

func TestIdentities(t *testing.T) {
	yes := true
	own := func(kind, name string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{Kind: kind, Name: name, Controller: &yes}}
	}
	tests := []struct {
		name    string
		obj     runtime.Object
		trusted bool // the request came from the owner's controller
		want    []policy.Identity
	}{
		{"a Deployment is itself", &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}}, true,
			[]policy.Identity{{Kind: "Deployment", Name: "web"}}},
		{"a Pod of a Deployment answers to its ReplicaSet and Deployment", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			GenerateName: "web-5d8f7c9b6-", Labels: map[string]string{"pod-template-hash": "5d8f7c9b6"}, OwnerReferences: own("ReplicaSet", "web-5d8f7c9b6")}}, true,
			[]policy.Identity{{Kind: "Pod", Name: "web-5d8f7c9b6"}, {Kind: "ReplicaSet", Name: "web-5d8f7c9b6"}, {Kind: "Deployment", Name: "web"}}},
		{"a Pod of a bare ReplicaSet answers to the ReplicaSet only", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: "rs-abcde", OwnerReferences: own("ReplicaSet", "rs")}}, true,
			[]policy.Identity{{Kind: "Pod", Name: "rs-abcde"}, {Kind: "ReplicaSet", Name: "rs"}}},
		{"a Pod of a CronJob's Job answers to the Job and the CronJob", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: "report-29123456-xk2", OwnerReferences: own("Job", "report-29123456")}}, true,
			[]policy.Identity{{Kind: "Pod", Name: "report-29123456-xk2"}, {Kind: "Job", Name: "report-29123456"}, {Kind: "CronJob", Name: "report"}}},
		{"a Pod of a DaemonSet answers to the DaemonSet", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			GenerateName: "agent-", OwnerReferences: own("DaemonSet", "agent")}}, true,
			[]policy.Identity{{Kind: "Pod", Name: "agent"}, {Kind: "DaemonSet", Name: "agent"}}},
		{"an owner that is not the controller is ignored", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: "p", OwnerReferences: []metav1.OwnerReference{{Kind: "DaemonSet", Name: "agent"}}}}, true,
			[]policy.Identity{{Kind: "Pod", Name: "p"}}},
		{"a Pod that names an exempted DaemonSet, sent by someone else, is itself alone", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: "agent-x", OwnerReferences: own("DaemonSet", "agent")}}, false,
			[]policy.Identity{{Kind: "Pod", Name: "agent-x"}}},
		{"a Pod that names a ReplicaSet of Deployment web, sent by someone else, is itself alone", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			GenerateName: "web-5d8f7c9b6-", Labels: map[string]string{"pod-template-hash": "5d8f7c9b6"}, OwnerReferences: own("ReplicaSet", "web-5d8f7c9b6")}}, false,
			[]policy.Identity{{Kind: "Pod", Name: "web-5d8f7c9b6"}}},
		{"a Job that names a CronJob, sent by someone else, is itself alone", &batchv1.Job{ObjectMeta: metav1.ObjectMeta{
			Name: "report-29123456", OwnerReferences: own("CronJob", "report")}}, false,
			[]policy.Identity{{Kind: "Job", Name: "report-29123456"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := workload.Find(tt.obj)
			if err != nil {
				t.Fatal(err)
			}
			tpl.OwnerTrusted = tt.trusted
			if diff := cmp.Diff(tt.want, tpl.Identities()); diff != "" {
				t.Errorf("Identities (-want +got):\n%s", diff)
			}
		})
	}
}
