package export

import "fmt"

// apparmor: no Pod or container turns AppArmor off or chooses a profile
// other than the runtime's default or one loaded on the node — in
// appArmorProfile, or in the deprecated per-container annotations.

const appArmorAnnotationPrefix = "container.apparmor.security.beta.kubernetes.io/"

// profileType is CEL: owner's appArmorProfile.type, "" when unset.
func profileType(owner string) string {
	return owner + ".?securityContext.?appArmorProfile.?type.orValue('')"
}

// appArmorAnnotations is CEL: the AppArmor annotations of annotations, as
// a list of {name, value}.
func appArmorAnnotations(annotations string) string {
	return annotations + ".filter(k, k.startsWith('" + appArmorAnnotationPrefix + "')).map(k, {'name': k, 'value': " + annotations + "[k]})"
}

// annotatedContainer is CEL: the name of the container that AppArmor
// annotation x ({name, value}) is for. The webhook says the finding of
// that container when the Pod has one by that name, of the pod template
// when not.
func annotatedContainer(x string) string {
	return x + ".name.substring(" + fmt.Sprint(len(appArmorAnnotationPrefix)) + ")"
}

func init() {
	unconfined := func(typ string) string { return "!(" + typ + " in ['', 'RuntimeDefault', 'Localhost'])" }
	checks := []check{podSpec(check{
		bad:   func(string) string { return unconfined(profileType("variables.spec")) },
		field: "securityContext.appArmorProfile.type",
		problem: func(string) string {
			return "'runs every container without AppArmor confinement (appArmorProfile.type: ' + " + profileType("variables.spec") + " + ')'"
		},
		fix: "set appArmorProfile.type: RuntimeDefault, or remove appArmorProfile",
	})}
	checks = append(checks, eachContainer(check{
		bad:   func(x string) string { return unconfined(profileType(x)) },
		same:  func(o, x string) string { return profileType(o) + " == " + profileType(x) },
		field: "securityContext.appArmorProfile.type",
		problem: func(x string) string {
			return "'runs without AppArmor confinement (appArmorProfile.type: ' + " + profileType(x) + " + ')'"
		},
		fix: "set appArmorProfile.type: RuntimeDefault, or remove appArmorProfile to inherit the Pod's",
	})...)
	checks = append(checks, check{
		list: appArmorAnnotations("variables.podAnnotations"), old: appArmorAnnotations("variables.oldPodAnnotations"),
		scope: "pod template",
		bad: func(x string) string {
			return "!(" + x + ".value == '' || " + x + ".value == 'runtime/default' || " + x + ".value.startsWith('localhost/'))"
		},
		same: func(o, x string) string { return o + ".value == " + x + ".value" },
		subjectOf: func(x string) string {
			n := annotatedContainer(x)
			return "(variables.initContainers.exists(cc, cc.name == " + n + ") ? " + containerKind("variables.initContainers.filter(cc, cc.name == "+n+")[0]") + " + ' \"' + " + n + " + '\"'" +
				" : variables.containers.exists(cc, cc.name == " + n + ") ? 'container \"' + " + n + " + '\"'" +
				" : variables.ephemeralContainers.exists(cc, cc.name == " + n + ") ? 'ephemeral container \"' + " + n + " + '\"'" +
				" : 'pod template')"
		},
		problem: func(x string) string {
			n := annotatedContainer(x)
			return "((variables.initContainers + variables.containers + variables.ephemeralContainers).exists(cc, cc.name == " + n + ")" +
				" ? 'runs without AppArmor confinement (annotation ' + " + x + ".name + ': \"' + " + x + ".value + '\")'" +
				" : 'has the annotation ' + " + x + ".name + ': \"' + " + x + ".value + '\", which runs a container without AppArmor confinement')"
		},
		path: func(first string) string {
			return "variables.podMetaPrefix + '.annotations[' + " + first + ".name + ']'"
		},
		fix: "remove the annotation (or set it to runtime/default or localhost/<profile>) and use securityContext.appArmorProfile instead",
	})
	register("apparmor", form{checks: checks})
}
