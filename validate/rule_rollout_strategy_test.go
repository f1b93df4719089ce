package validate

import (
	"testing"

	"github.com/plimsoll/plimsoll/policy"
)

func TestRolloutStrategyMessages(t *testing.T) {
	expectMessages(t, "rollout-strategy", []messageCase{
		{name: "autoscaled-recreate.yaml", file: "fail/autoscaled-recreate.yaml", want: []string{
			"[rollout-strategy] Deployment \"web\": workload updates with Recreate, so every one of its 2 replicas is down before the new ones start (spec.strategy.type): set spec.strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1, maxSurge: 1}} (keep Recreate only for Pods that must never run side by side)",
		}},
		{name: "daemonset-on-delete.yaml", file: "fail/daemonset-on-delete.yaml", want: []string{
			"[rollout-strategy] DaemonSet \"web\": workload updates OnDelete, so a new version reaches a node only when someone deletes its Pod by hand (spec.updateStrategy.type): set spec.updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1}}",
		}},
		{name: "max-unavailable-all.yaml", file: "fail/max-unavailable-all.yaml", want: []string{
			"[rollout-strategy] Deployment \"web\": workload may take all 4 replicas down at once while it updates (maxUnavailable: 100%) (spec.strategy.rollingUpdate.maxUnavailable): set spec.strategy.rollingUpdate.maxUnavailable: 1 (or a percentage that leaves Pods running: 25%)",
		}},
		{name: "recreate.yaml", file: "fail/recreate.yaml", want: []string{
			"[rollout-strategy] Deployment \"web\": workload updates with Recreate, so every one of its 3 replicas is down before the new ones start (spec.strategy.type): set spec.strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1, maxSurge: 1}} (keep Recreate only for Pods that must never run side by side)",
		}},
		{name: "statefulset-on-delete.yaml", file: "fail/statefulset-on-delete.yaml", want: []string{
			"[rollout-strategy] StatefulSet \"web\": workload updates OnDelete, so a new version reaches its 3 replicas only when someone deletes them by hand (spec.updateStrategy.type): set spec.updateStrategy: {type: RollingUpdate}",
		}},
	})
}

// TestRolloutStrategyCountsTheAutoscalersFloor: a Deployment with no
// replica count passes on its own (one replica), and fails once the
// autoscaler that keeps two or more is known.
func TestRolloutStrategyCountsTheAutoscalersFloor(t *testing.T) {
	run := loadRun(t, "testdata/rollout-strategy/fail/autoscaled-recreate.yaml")
	dep := run.judged(rolloutStrategy)[0]
	if got := rolloutStrategy.findings(dep, nil, "", policy.Default()); len(got) != 0 {
		t.Errorf("without a View, one replica was judged: %+v", got)
	}
	if got := run.findings(rolloutStrategy, dep, policy.Default()); len(got) != 1 {
		t.Errorf("with the autoscaler known: %d findings, want 1", len(got))
	}
}
