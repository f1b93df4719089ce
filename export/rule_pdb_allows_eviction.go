package export

// pdb-allows-eviction: PodDisruptionBudgets can allow an eviction: not
// maxUnavailable: 0 or 0%, not minAvailable: 100%.

func init() {
	const fix = "set spec.maxUnavailable: 1, so that one Pod at a time may be evicted"
	maxUnavailable := "string(object.spec.maxUnavailable)"
	register("pdb-allows-eviction", form{subject: budgets, checks: []check{
		podSpec(check{
			bad:   func(string) string { return "has(object.spec.maxUnavailable) && " + maxUnavailable + " in ['0', '0%']" },
			scope: "budget",
			path:  func(string) string { return "'spec.maxUnavailable'" },
			problem: func(string) string {
				return "'allows no eviction (maxUnavailable: ' + " + maxUnavailable + " + '), so a node drain never finishes while its Pods run there'"
			},
			fix: fix,
		}),
		podSpec(check{
			bad:   func(string) string { return "string(object.spec.?minAvailable.orValue(0)) == '100%'" },
			scope: "budget",
			path:  func(string) string { return "'spec.minAvailable'" },
			problem: func(string) string {
				return "'allows no eviction (minAvailable: 100%), so a node drain never finishes while its Pods run there'"
			},
			fix: fix + " (and remove minAvailable)",
		}),
	}})
}
