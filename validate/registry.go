package validate

import "slices"

// Registry returns every rule, sorted by ID. The list is explicit so a
// reader sees every rule in one place; registry_test.go checks that IDs are
// unique and kebab-case, and that each rule is documented, has a passing
// and a failing fixture, and has its own rule_<id>_test.go.
func Registry() []*Rule {
	rules := []*Rule{
		apparmor,
		capabilities,
		configMapSecrets,
		cpuLimits,
		cpuRequests,
		hostNamespaces,
		hostPath,
		hostPort,
		hostProcess,
		hpaMinReplicas,
		hpaRange,
		hpaTarget,
		imageDigest,
		imageRegistry,
		imageTag,
		imageVulnerabilities,
		livenessProbe,
		memoryLimits,
		memoryRequests,
		namespaceQuota,
		networkPolicy,
		pdbAllowsEviction,
		podDisruptionBudget,
		privilegeEscalation,
		priorityClass,
		privileged,
		probeHost,
		probePort,
		probesIdentical,
		procMount,
		readOnlyRootFilesystem,
		readinessProbe,
		replicas,
		replicasWithHPA,
		requiredLabels,
		rolloutStrategy,
		runAsNonRoot,
		seccompProfile,
		secretEnv,
		serviceAccountToken,
		selinux,
		sysctls,
		topologySpread,
		volumeTypes,
	}
	slices.SortFunc(rules, func(a, b *Rule) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return rules
}

// IDs returns the IDs of every rule, sorted.
func IDs() []string {
	var ids []string
	for _, r := range Registry() {
		ids = append(ids, r.ID)
	}
	return ids
}
