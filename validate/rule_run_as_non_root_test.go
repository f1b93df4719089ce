package validate

import "testing"

// TestRunAsNonRootCoverage: run-as-non-root checks every container.
func TestRunAsNonRootCoverage(t *testing.T) {
	expectBareFindings(t, "run-as-non-root", fieldIn(".securityContext.runAsNonRoot", allContainers...)...)
}

// TestRunAsNonRootMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestRunAsNonRootMessages(t *testing.T) {
	expectMessages(t, "run-as-non-root", []messageCase{
		{
			name: "root at pod level is reported on the pod, and the container is told to opt in",
			file: "fail/pod-run-as-user-zero.yaml",
			want: []string{
				`[run-as-non-root] Pod "root": pod spec runs as root (runAsUser: 0) (spec.securityContext.runAsUser): set runAsUser to a non-zero UID, e.g. 10001`,
				`[run-as-non-root] Pod "root": container "app" may run as root (runAsNonRoot is not set) (spec.containers[0].securityContext.runAsNonRoot): set securityContext.runAsNonRoot: true and use an image that runs as a non-root USER`,
			},
		},
		{
			name: "a container that turns off the pod's runAsNonRoot",
			file: "fail/container-turns-it-off.yaml",
			want: []string{`[run-as-non-root] Deployment "web": container "web" is allowed to run as root (runAsNonRoot: false) (spec.template.spec.containers[0].securityContext.runAsNonRoot): set securityContext.runAsNonRoot: true and use an image that runs as a non-root USER`},
		},
		{
			name: "a container running as UID 0 under a non-root pod",
			file: "fail/job-container-root.yaml",
			want: []string{`[run-as-non-root] Job "migrate": container "migrate" runs as root (runAsUser: 0) (spec.template.spec.containers[0].securityContext.runAsUser): set runAsUser to a non-zero UID, e.g. 10001`},
		},
		{
			name: "a Pod-level runAsNonRoot: false is refused even where every container overrides it",
			file: "fail/pod-false-overridden-by-containers.yaml",
			want: []string{`[run-as-non-root] Pod "web": pod spec allows every container to run as root (runAsNonRoot: false) (spec.securityContext.runAsNonRoot): set securityContext.runAsNonRoot: true and use images that run as a non-root USER`},
		},
	})
}
