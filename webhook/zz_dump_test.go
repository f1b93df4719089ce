package webhook_test

import (
	"fmt"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
)

func TestDump(t *testing.T) {
	f := newFixture(t)
	show := func(name, path string, r reviewOf) {
		a := f.send(t, path, r.body(t))
		fmt.Printf("=== %s\n%s\n", name, a.raw)
		if a.resp.Patch != nil {
			fmt.Printf("patch: %s\n", a.resp.Patch)
		}
	}
	show("mutate bare", "/mutate/enforce", create(load(t, "pod-bare-nginx.yaml")))
	show("mutate unknown", "/mutate/enforce", create(load(t, "pod-unknown-fields.yaml")))
	show("mutate audit", "/mutate/audit", create(load(t, "pod-bare-nginx.yaml")))
	show("validate priv", "/validate/enforce", create(load(t, "pod-privileged.yaml")))
	show("validate latest", "/validate/enforce", create(load(t, "deployment-latest.yaml")))
	show("validate bare", "/validate/enforce", create(load(t, "deployment-bare.yaml")))
	show("validate noprobes", "/validate/enforce", create(load(t, "deployment-no-probes.yaml")))
	show("validate warn latest", "/validate/warn", create(load(t, "deployment-latest.yaml")))
	show("validate audit latest", "/validate/audit", create(load(t, "deployment-latest.yaml")))
	show("ratchet", "/validate/enforce", update(load(t, "deployment-latest.yaml"), load(t, "deployment-latest.yaml")))
	show("cronjob", "/validate/enforce", create(load(t, "cronjob-privileged-init.yaml")))
	show("cr", "/validate/enforce", create(load(t, "controllerrevision.yaml")))
	show("delete", "/validate/enforce", reviewOf{op: admissionv1.Delete, oldObject: load(t, "pod-privileged.yaml")})
	fmt.Println(f.log.String())
}
