package validate

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/policy"
	"github.com/plimsoll/plimsoll/workload"
)

// violations runs one rule over a fixture at its default severity, with
// the policy its fixtures are judged with.
func violations(t *testing.T, ruleID, file string) []Violation {
	t.Helper()
	tpl := loadTemplate(t, filepath.Join("testdata", ruleID, file))
	return evaluate(t, []*Rule{ruleByID(t, ruleID)}, fixturePolicy(ruleID), Input{Template: tpl})
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
			name: "a Pod-level runAsNonRoot: false is refused even where every container overrides it",
			rule: "run-as-non-root", file: "fail/pod-false-overridden-by-containers.yaml",
			want: []string{`[run-as-non-root] Pod "web": pod spec allows every container to run as root (runAsNonRoot: false) (spec.securityContext.runAsNonRoot): set securityContext.runAsNonRoot: true and use images that run as a non-root USER`},
		},
		{
			name: "adding NET_BIND_SERVICE without dropping ALL is told to add the drop itself",
			rule: "capabilities", file: "fail/pod-net-bind-service-without-drop.yaml",
			want: []string{`[capabilities] Pod "web": container "web" keeps the runtime's default capabilities (capabilities.drop is not set) (spec.containers[0].securityContext.capabilities.drop): add drop: [ALL] to securityContext.capabilities (defaulting does not touch capabilities a container sets), keeping add for what it needs`},
		},
		{
			name: "an added capability is named",
			rule: "capabilities", file: "fail/pod-adds-sys-admin.yaml",
			want: []string{`[capabilities] Pod "fuse": container "fuse" adds the capabilities "SYS_ADMIN" (spec.containers[0].securityContext.capabilities.add): remove "SYS_ADMIN" from securityContext.capabilities.add: only NET_BIND_SERVICE may be added`},
		},
		{
			name: "seccomp Unconfined on the Pod is reported once, on the Pod",
			rule: "seccomp-profile", file: "fail/pod-unconfined.yaml",
			want: []string{`[seccomp-profile] Pod "strace": pod spec turns off the seccomp filter of every container (seccompProfile.type: Unconfined) (spec.securityContext.seccompProfile.type): set securityContext.seccompProfile.type: RuntimeDefault`},
		},
		{
			name: "a legacy AppArmor annotation is reported on the container it names, at the annotation",
			rule: "apparmor", file: "fail/deployment-legacy-annotation.yaml",
			want: []string{`[apparmor] Deployment "web": container "web" runs without AppArmor confinement (annotation container.apparmor.security.beta.kubernetes.io/web: "unconfined") (spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/web]): remove the annotation (or set it to runtime/default or localhost/<profile>) and use securityContext.appArmorProfile instead`},
		},
		{
			name: "SELinux user and role are two findings",
			rule: "selinux", file: "fail/statefulset-container-user-and-role.yaml",
			want: []string{
				`[selinux] StatefulSet "db": container "db" sets the SELinux user "system_u" (spec.template.spec.containers[0].securityContext.seLinuxOptions.user): remove seLinuxOptions.user`,
				`[selinux] StatefulSet "db": container "db" sets the SELinux role "system_r" (spec.template.spec.containers[0].securityContext.seLinuxOptions.role): remove seLinuxOptions.role`,
			},
		},
		{
			name: "only the unsafe sysctl is named, with its index",
			rule: "sysctls", file: "fail/pod-unsafe-sysctl.yaml",
			want: []string{`[sysctls] Pod "tuned": pod spec sets the sysctl "kernel.msgmax", which is not in the safe set and may affect the whole node (spec.securityContext.sysctls[1].name): remove kernel.msgmax from securityContext.sysctls and tune it on the node if it is needed`},
		},
		{
			name: "a forbidden volume type is named with its volume",
			rule: "volume-types", file: "fail/deployment-nfs.yaml",
			want: []string{`[volume-types] Deployment "web": pod spec mounts volume "content" of type nfs, which Pod Security restricted forbids (spec.template.spec.volumes[1].nfs): use a persistentVolumeClaim bound to a PersistentVolume that provides the nfs storage, or an emptyDir, configMap or secret volume`},
		},
		{
			name: "a Windows host process at pod level",
			rule: "host-process", file: "fail/pod-level-host-process.yaml",
			want: []string{`[host-process] Pod "node-setup": pod spec runs every container as a process of the Windows node (windowsOptions.hostProcess: true) (spec.securityContext.windowsOptions.hostProcess): remove windowsOptions.hostProcess: true`},
		},
		{
			name: "a host port names the port and the Service to use instead",
			rule: "host-port", file: "fail/daemonset-host-port.yaml",
			want: []string{`[host-port] DaemonSet "ingress": container "controller" binds port 80 of the node (hostPort: 80) (spec.template.spec.containers[0].ports[0].hostPort): remove hostPort: 80 and expose containerPort 80 through a Service`},
		},
		{
			name: "a probe host and a lifecycle host on a sidecar and a container",
			rule: "probe-host", file: "fail/pod-lifecycle-tcp-host.yaml",
			want: []string{
				`[probe-host] Pod "web": sidecar container "proxy" has a readinessProbe that connects to host "db.internal" instead of the Pod (spec.initContainers[0].readinessProbe.tcpSocket.host): remove tcpSocket.host so the kubelet connects to the Pod's own IP`,
				`[probe-host] Pod "web": container "web" has a preStop hook that calls host "example.com" instead of the Pod (spec.containers[0].lifecycle.preStop.httpGet.host): remove httpGet.host so the kubelet calls the Pod's own IP; to send a virtual host name, add httpHeaders: [{name: Host, value: example.com}]`,
			},
		},
		{
			name: "a probe aimed at a port name nobody has lists the names there are",
			rule: "probe-port", file: "fail/pod-unknown-name.yaml",
			want: []string{`[probe-port] Pod "web": container "web" has a readinessProbe aimed at port "web", which no port of the container is named (spec.containers[0].readinessProbe.httpGet.port): name a declared port (the container's ports are named "http"), or add name: web to the port it means`},
		},
		{
			name: "a TCP probe on a UDP-only port",
			rule: "probe-port", file: "fail/statefulset-udp-only-port.yaml",
			want: []string{`[probe-port] StatefulSet "dns": container "dns" has a livenessProbe aimed at port 53, which the container declares for UDP or SCTP only (spec.template.spec.containers[0].livenessProbe.tcpSocket.port): declare containerPort: 53 with protocol: TCP, or aim the probe at the TCP port the program serves`},
		},
		{
			name: "identical probes on a sidecar",
			rule: "probes-identical", file: "fail/pod-sidecar-same-probe.yaml",
			want: []string{`[probes-identical] Pod "meshed": sidecar container "proxy" has a livenessProbe identical to its readinessProbe, so whatever takes it out of rotation also restarts it (spec.initContainers[0].livenessProbe): make the livenessProbe more tolerant: a higher failureThreshold (e.g. 6) or a cheaper endpoint that only says the process is alive`},
		},
		{
			name: "an image from Docker Hub under a policy that allows only its own registries",
			rule: "image-registry", file: "fail/deployment-docker-hub.yaml",
			want: []string{`[image-registry] Deployment "web": container "web" pulls image "nginx:1.27" from docker.io (as docker.io/library/nginx), which allowedRegistries does not list (spec.template.spec.containers[0].image): mirror the image to an allowed registry (ghcr.io/acme, registry.local:5000) and name it there, e.g. image: ghcr.io/acme/nginx:1.27`},
		},
		{
			name: "a single replica is about the workload",
			rule: "replicas", file: "fail/statefulset-one.yaml",
			want: []string{`[replicas] StatefulSet "db": workload runs a single replica (replicas: 1, or unset), so a node drain or a rollout takes it down (spec.replicas): set spec.replicas: 2 or more, or scale it with a HorizontalPodAutoscaler whose minReplicas is 2`},
		},
		{
			name: "the spread example selects the Pods' own labels",
			rule: "topology-spread", file: "fail/statefulset-empty-anti-affinity.yaml",
			want: []string{`[topology-spread] StatefulSet "db": pod spec does not spread its 3 replicas (neither topologySpreadConstraints nor podAntiAffinity is set), so they may all land on one node (spec.template.spec.topologySpreadConstraints): add topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: db, tier: data}}}]`},
		},
		{
			name: "a literal secret is named but its value is not repeated",
			rule: "secret-env", file: "fail/deployment-password.yaml",
			want: []string{`[secret-env] Deployment "web": container "web" sets DB_PASSWORD to a literal value, which anyone who can read the Deployment sees (spec.template.spec.containers[0].env[1].value): put the value in a Secret and write valueFrom: {secretKeyRef: {name: <secret>, key: DB_PASSWORD}} instead of value`},
		},
		{
			name: "a missing label is reported on the pod template of a CronJob",
			rule: "required-labels", file: "fail/cronjob-labels-on-the-cronjob-only.yaml",
			want: []string{
				`[required-labels] CronJob "nightly": pod template lacks the required label app.kubernetes.io/name (spec.jobTemplate.spec.template.metadata.labels[app.kubernetes.io/name]): add app.kubernetes.io/name: <value> under spec.jobTemplate.spec.template.metadata.labels`,
				`[required-labels] CronJob "nightly": pod template lacks the required label team (spec.jobTemplate.spec.template.metadata.labels[team]): add team: <value> under spec.jobTemplate.spec.template.metadata.labels`,
			},
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
				vs := evaluate(t, []*Rule{r}, fixturePolicy(r.ID), Input{Template: tpl})
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
