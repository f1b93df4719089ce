package validate

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// violations runs one rule over a fixture at its default severity.
func violations(t *testing.T, ruleID, file string) []Violation {
	t.Helper()
	tpl := loadTemplate(t, filepath.Join("testdata", ruleID, file))
	return Evaluate([]*Rule{ruleByID(t, ruleID)}, policy.Default(), Input{Template: tpl})
}

func TestMessagesNameTheObjectTheContainerAndTheField(t *testing.T) {
	tests := []struct {
		name string
		rule string
		file string
		want []string
	}{
		{
			name: "a Deployment on latest is told to pin a version",
			rule: "image-tag", file: "fail/deployment-latest.yaml",
			want: []string{`[image-tag] Deployment "web": container "web" uses image "nginx:latest", whose latest tag moves (spec.template.spec.containers[0].image): pin a version: image: nginx:<version> or nginx@sha256:<digest>`},
		},
		{
			name: "a registry port is not mistaken for a tag, and a generated name is shown as such",
			rule: "image-tag", file: "fail/registry-port-without-tag.yaml",
			want: []string{`[image-tag] Pod "local-*": container "app" uses image "localhost:5000/nginx", which has no tag (spec.containers[0].image): pin a version: image: localhost:5000/nginx:<version> or localhost:5000/nginx@sha256:<digest>`},
		},
		{
			name: "an ephemeral container is named as one",
			rule: "image-tag", file: "fail/pod-ephemeral-latest.yaml",
			want: []string{`[image-tag] Pod "web": ephemeral container "debugger" uses image "busybox:latest", whose latest tag moves (spec.ephemeralContainers[0].image): pin a version: image: busybox:<version> or busybox@sha256:<digest>`},
		},
		{
			name: "an untagged init container of a StatefulSet",
			rule: "image-tag", file: "fail/statefulset-init-untagged.yaml",
			want: []string{`[image-tag] StatefulSet "db": init container "init" uses image "busybox", which has no tag (spec.template.spec.initContainers[0].image): pin a version: image: busybox:<version> or busybox@sha256:<digest>`},
		},
		{
			name: "an untagged ReplicationController",
			rule: "image-tag", file: "fail/replicationcontroller-untagged.yaml",
			want: []string{`[image-tag] ReplicationController "legacy": container "app" uses image "legacy", which has no tag (spec.template.spec.containers[0].image): pin a version: image: legacy:<version> or legacy@sha256:<digest>`},
		},
		{
			name: "a CronJob's path runs through its job template",
			rule: "cpu-limits", file: "fail/cronjob-init-container.yaml",
			want: []string{`[cpu-limits] CronJob "nightly": init container "migrate" has no cpu limit (spec.jobTemplate.spec.template.spec.initContainers[0].resources.limits.cpu): set resources.limits.cpu, e.g. 500m`},
		},
		{
			name: "a restartable sidecar is named as a sidecar",
			rule: "cpu-requests", file: "fail/pod-sidecar-without-request.yaml",
			want: []string{`[cpu-requests] Pod "meshed": sidecar container "proxy" has no cpu request (spec.initContainers[0].resources.requests.cpu): set resources.requests.cpu, e.g. 100m`},
		},
		{
			name: "a Job without a memory limit",
			rule: "memory-limits", file: "fail/job-without-memory-limit.yaml",
			want: []string{`[memory-limits] Job "migrate": container "migrate" has no memory limit (spec.template.spec.containers[0].resources.limits.memory): set resources.limits.memory, e.g. 512Mi`},
		},
		{
			name: "a ReplicationController without a memory request",
			rule: "memory-requests", file: "fail/replicationcontroller-without-requests.yaml",
			want: []string{`[memory-requests] ReplicationController "legacy": container "app" has no memory request (spec.template.spec.containers[0].resources.requests.memory): set resources.requests.memory, e.g. 128Mi`},
		},
		{
			name: "a pod-level field is reported on the pod spec",
			rule: "host-namespaces", file: "fail/daemonset-host-network.yaml",
			want: []string{`[host-namespaces] DaemonSet "node-agent": pod spec shares the node's network namespace (spec.template.spec.hostNetwork): remove hostNetwork: true`},
		},
		{
			name: "each shared namespace is its own violation",
			rule: "host-namespaces", file: "fail/pod-host-pid-and-ipc.yaml",
			want: []string{
				`[host-namespaces] Pod "debug": pod spec shares the node's process namespace (spec.hostPID): remove hostPID: true`,
				`[host-namespaces] Pod "debug": pod spec shares the node's IPC namespace (spec.hostIPC): remove hostIPC: true`,
			},
		},
		{
			name: "a hostPath volume is named with its path and index",
			rule: "host-path", file: "fail/replicaset-host-path.yaml",
			want: []string{`[host-path] ReplicaSet "logs": pod spec mounts the node's path "/var/log" as volume "varlog" (spec.template.spec.volumes[1].hostPath): replace hostPath with emptyDir, a persistentVolumeClaim, or a configMap/secret volume`},
		},
		{
			name: "a privileged init container",
			rule: "privileged", file: "fail/statefulset-init-privileged.yaml",
			want: []string{`[privileged] StatefulSet "db": init container "sysctl" runs privileged (spec.template.spec.initContainers[0].securityContext.privileged): remove privileged: true; if it needs one kernel feature, add just that capability under securityContext.capabilities.add`},
		},
		{
			name: "a privileged ephemeral container",
			rule: "privileged", file: "fail/pod-ephemeral-privileged.yaml",
			want: []string{`[privileged] Pod "web": ephemeral container "debugger" runs privileged (spec.ephemeralContainers[0].securityContext.privileged): remove privileged: true; if it needs one kernel feature, add just that capability under securityContext.capabilities.add`},
		},
		{
			name: "an explicit allowPrivilegeEscalation: true is quoted back",
			rule: "privilege-escalation", file: "fail/pod-allowed.yaml",
			want: []string{`[privilege-escalation] Pod "web": container "web" allows privilege escalation (allowPrivilegeEscalation: true) (spec.containers[0].securityContext.allowPrivilegeEscalation): set securityContext.allowPrivilegeEscalation: false`},
		},
		{
			name: "an unset allowPrivilegeEscalation on a CronJob's sidecar",
			rule: "privilege-escalation", file: "fail/cronjob-sidecar-unset.yaml",
			want: []string{`[privilege-escalation] CronJob "nightly": sidecar container "proxy" allows privilege escalation (allowPrivilegeEscalation is not set) (spec.jobTemplate.spec.template.spec.initContainers[0].securityContext.allowPrivilegeEscalation): set securityContext.allowPrivilegeEscalation: false`},
		},
		{
			name: "root at pod level is reported on the pod, and the container is told to opt in",
			rule: "run-as-non-root", file: "fail/pod-run-as-user-zero.yaml",
			want: []string{
				`[run-as-non-root] Pod "root": pod spec runs as root (runAsUser: 0) (spec.securityContext.runAsUser): set runAsUser to a non-zero UID, e.g. 10001`,
				`[run-as-non-root] Pod "root": container "app" may run as root (runAsNonRoot is not set) (spec.containers[0].securityContext.runAsNonRoot): set securityContext.runAsNonRoot: true and use an image that runs as a non-root USER`,
			},
		},
		{
			name: "a container that turns off the pod's runAsNonRoot",
			rule: "run-as-non-root", file: "fail/container-turns-it-off.yaml",
			want: []string{`[run-as-non-root] Deployment "web": container "web" is allowed to run as root (runAsNonRoot: false) (spec.template.spec.containers[0].securityContext.runAsNonRoot): set securityContext.runAsNonRoot: true and use an image that runs as a non-root USER`},
		},
		{
			name: "a container running as UID 0 under a non-root pod",
			rule: "run-as-non-root", file: "fail/job-container-root.yaml",
			want: []string{`[run-as-non-root] Job "migrate": container "migrate" runs as root (runAsUser: 0) (spec.template.spec.containers[0].securityContext.runAsUser): set runAsUser to a non-zero UID, e.g. 10001`},
		},
		{
			name: "only the container without a probe is named",
			rule: "liveness-probe", file: "fail/replicaset-second-container.yaml",
			want: []string{`[liveness-probe] ReplicaSet "web": container "metrics" has no livenessProbe (spec.template.spec.containers[1].livenessProbe): add a livenessProbe, e.g. an httpGet on the container's health endpoint`},
		},
		{
			name: "a ReplicationController without a readiness probe",
			rule: "readiness-probe", file: "fail/replicationcontroller-without-probe.yaml",
			want: []string{`[readiness-probe] ReplicationController "legacy": container "app" has no readinessProbe (spec.template.spec.containers[0].readinessProbe): add a readinessProbe, e.g. an httpGet on the container's health endpoint`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range violations(t, tt.rule, tt.file) {
				got = append(got, v.Message())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEveryFailingFixtureGetsAWellFormedMessage holds every message of
// every failing fixture to the format: rule ID first, then the object,
// the container when there is one, the field path, the fix last; and the
// short form is the same sentence without the object.
func TestEveryFailingFixtureGetsAWellFormedMessage(t *testing.T) {
	for _, r := range Registry() {
		for _, file := range ruleFixtures(t, r.ID, "fail") {
			t.Run(r.ID+" on "+filepath.Base(file), func(t *testing.T) {
				tpl := loadTemplate(t, file)
				vs := Evaluate([]*Rule{r}, policy.Default(), Input{Template: tpl})
				for _, v := range vs {
					msg := v.Message()
					prefix := "[" + r.ID + "] " + tpl.Describe() + ": "
					if !strings.HasPrefix(msg, prefix) {
						t.Errorf("%q does not start with %q", msg, prefix)
					}
					if v.Container != "" && !strings.Contains(msg, `"`+v.Container+`"`) {
						t.Errorf("%q does not name container %q", msg, v.Container)
					}
					if !strings.Contains(msg, "("+v.Path+"): ") {
						t.Errorf("%q does not name the field %s", msg, v.Path)
					}
					if !strings.HasSuffix(msg, ": "+v.Fix) {
						t.Errorf("%q does not end with the fix %q", msg, v.Fix)
					}
					if want := strings.Replace(msg, tpl.Describe()+": ", "", 1); v.ShortMessage() != want {
						t.Errorf("ShortMessage() = %q, want %q", v.ShortMessage(), want)
					}
				}
			})
		}
	}
}

func TestMessageFormats(t *testing.T) {
	withFix := Violation{
		Rule:     imageTag,
		Severity: policy.Error,
		Object:   `Deployment "web"`,
		Finding: Finding{
			Container:     "web",
			ContainerType: workload.Regular,
			Path:          "spec.template.spec.containers[0].image",
			Problem:       `uses image "nginx", which has no tag`,
			Fix:           "pin a version",
		},
	}
	noFix := withFix
	noFix.Fix = ""
	podLevel := Violation{
		Rule:    hostPath,
		Object:  `Pod "x"`,
		Finding: Finding{Path: "spec.volumes[0].hostPath", Problem: "mounts a node path"},
	}
	tests := []struct {
		name      string
		v         Violation
		wantLong  string
		wantShort string
	}{
		{
			name:      "a violation with a fix ends with it",
			v:         withFix,
			wantLong:  `[image-tag] Deployment "web": container "web" uses image "nginx", which has no tag (spec.template.spec.containers[0].image): pin a version`,
			wantShort: `[image-tag] container "web" uses image "nginx", which has no tag (spec.template.spec.containers[0].image): pin a version`,
		},
		{
			name:      "a violation without a fix ends with the field",
			v:         noFix,
			wantLong:  `[image-tag] Deployment "web": container "web" uses image "nginx", which has no tag (spec.template.spec.containers[0].image)`,
			wantShort: `[image-tag] container "web" uses image "nginx", which has no tag (spec.template.spec.containers[0].image)`,
		},
		{
			name:      "a pod-level violation is about the pod spec",
			v:         podLevel,
			wantLong:  `[host-path] Pod "x": pod spec mounts a node path (spec.volumes[0].hostPath)`,
			wantShort: `[host-path] pod spec mounts a node path (spec.volumes[0].hostPath)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.v.Message(); got != tt.wantLong {
				t.Errorf("Message() =\n  %q\nwant\n  %q", got, tt.wantLong)
			}
			if got := tt.v.ShortMessage(); got != tt.wantShort {
				t.Errorf("ShortMessage() =\n  %q\nwant\n  %q", got, tt.wantShort)
			}
		})
	}
}
