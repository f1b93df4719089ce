package validate

import "testing"

// TestAppArmorCoverage: apparmor refuses Unconfined in every container.
func TestAppArmorCoverage(t *testing.T) {
	expectRiskyFindings(t, "apparmor", fieldIn(".securityContext.appArmorProfile.type", allContainers...)...)
}

// TestAppArmorMessages pins what the person at kubectl apply reads for
// failing fixtures: the object, the container, the field at fault and the
// fix.
func TestAppArmorMessages(t *testing.T) {
	expectMessages(t, "apparmor", []messageCase{
		{
			name: "a legacy AppArmor annotation is reported on the container it names, at the annotation",
			file: "fail/deployment-legacy-annotation.yaml",
			want: []string{`[apparmor] Deployment "web": container "web" runs without AppArmor confinement (annotation container.apparmor.security.beta.kubernetes.io/web: "unconfined") (spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/web]): remove the annotation (or set it to runtime/default or localhost/<profile>) and use securityContext.appArmorProfile instead`},
		},
	})
}
