package validate

import "testing"

func TestPDBAllowsEvictionMessages(t *testing.T) {
	expectMessages(t, "pdb-allows-eviction", []messageCase{
		{name: "max-unavailable-zero-percent.yaml", file: "fail/max-unavailable-zero-percent.yaml", want: []string{
			"[pdb-allows-eviction] PodDisruptionBudget \"web\": budget allows no eviction (maxUnavailable: 0%), so a node drain never finishes while its Pods run there (spec.maxUnavailable): set spec.maxUnavailable: 1, so that one Pod at a time may be evicted",
		}},
		{name: "max-unavailable-zero.yaml", file: "fail/max-unavailable-zero.yaml", want: []string{
			"[pdb-allows-eviction] PodDisruptionBudget \"web\": budget allows no eviction (maxUnavailable: 0), so a node drain never finishes while its Pods run there (spec.maxUnavailable): set spec.maxUnavailable: 1, so that one Pod at a time may be evicted",
		}},
		{name: "min-available-all.yaml", file: "fail/min-available-all.yaml", want: []string{
			"[pdb-allows-eviction] PodDisruptionBudget \"web\": budget allows no eviction (minAvailable: 100%), so a node drain never finishes while its Pods run there (spec.minAvailable): set spec.maxUnavailable: 1, so that one Pod at a time may be evicted (and remove minAvailable)",
		}},
	})
}
