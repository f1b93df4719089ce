package export

import (
	"strings"

	"github.com/plimsoll/plimsoll/imageref"
	"github.com/plimsoll/plimsoll/policy"
)

// image-registry: every image comes from a registry the policy allows,
// and none from one it blocks, matched on the image's full name as
// container runtimes resolve it (imageref.Repository: docker.io and
// library/ for short names, the host in lower case, Docker Hub's other
// names); nothing to check while the policy lists neither.

// resolved is CEL: [registry, full name, last path element with its tag
// and digest] of image img, as imageref and the webhook's messages have
// them. Each step is bound once ([v].map(name, ...)[0]: CEL has no let).
func resolved(img string) string {
	return "[" + img + ".split('@')[0]].map(n0, " +
		"[n0.lastIndexOf(':') > n0.lastIndexOf('/') ? n0.substring(0, n0.lastIndexOf(':')) : n0].map(n, " +
		"[n.indexOf('/')].map(s, " +
		"[s >= 0 && (n.substring(0, s).contains('.') || n.substring(0, s).contains(':') || n.substring(0, s) == 'localhost' || n.substring(0, s).lowerAscii() != n.substring(0, s))].map(hosted, " +
		"[[hosted ? n.substring(0, s).lowerAscii() : '', hosted ? n.substring(s + 1) : n]].map(hr, " +
		"[hr[0] in ['', 'index.docker.io', 'registry-1.docker.io'] ? 'docker.io' : hr[0]].map(reg, " +
		"[reg, reg + '/' + ((reg == 'docker.io' && !hr[1].contains('/')) ? 'library/' + hr[1] : hr[1]), " +
		"n.substring(n.lastIndexOf('/') + 1) + (n0.lastIndexOf(':') > n0.lastIndexOf('/') && n0.lastIndexOf(':') < n0.size() - 1 ? ':' + n0.substring(n0.lastIndexOf(':') + 1) : '') + " +
		"(" + img + ".indexOf('@') >= 0 && " + img + ".indexOf('@') < " + img + ".size() - 1 ? '@' + " + img + ".substring(" + img + ".indexOf('@') + 1) : '')]" +
		")[0])[0])[0])[0])[0])[0]"
}

// entries is CEL: the registries of a policy's list, each as
// [as written, as matched].
func entries(list []string) string {
	var out []string
	for _, e := range list {
		a := strings.TrimSuffix(e, "/")
		host, path, _ := strings.Cut(a, "/")
		a = imageref.Registry(host)
		if path != "" {
			a += "/" + path
		}
		out = append(out, "["+celString(e)+", "+celString(a)+"]")
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// underEntry is CEL: the resolved image r is under entry e.
const underEntry = "(r[0] == e[1] || r[1].startsWith(e[1] + '/'))"

func init() {
	registerOf("image-registry", func(p *policy.Policy) form {
		if len(p.AllowedRegistries) == 0 && len(p.BlockedRegistries) == 0 {
			return form{}
		}
		blocked, allowed := entries(p.BlockedRegistries), entries(p.AllowedRegistries)
		with := func(x, body string) string { return "[" + resolved(image(x)) + "].map(r, " + body + ")[0]" }
		suggest := ""
		if len(p.AllowedRegistries) > 0 {
			suggest = celString(strings.TrimSuffix(p.AllowedRegistries[0], "/")+"/") + " + r[2]"
		}
		var checks []check
		if len(p.BlockedRegistries) > 0 {
			hint := celString(" (mirror it to your own registry)")
			if suggest != "" {
				hint = celString(" ("+strings.Join(p.AllowedRegistries, ", ")+"), e.g. image: ") + " + " + suggest
			}
			checks = append(checks, eachContainer(check{
				bad:   func(x string) string { return image(x) + " != '' && " + with(x, blocked+".exists(e, "+underEntry+")") },
				same:  func(o, x string) string { return image(o) + " == " + image(x) },
				field: "image",
				problem: func(x string) string {
					return with(x, "'pulls image \"' + "+image(x)+" + '\" from ' + r[1] + ', which blockedRegistries forbids (' + "+blocked+".filter(e, "+underEntry+")[0][0] + ')'")
				},
				fixOf: func(x string) string {
					return with(x, celString("use an image from a registry the policy allows")+" + "+hint)
				},
			})...)
		}
		if len(p.AllowedRegistries) > 0 {
			notBlocked := "true"
			if len(p.BlockedRegistries) > 0 {
				notBlocked = "!" + blocked + ".exists(e, " + underEntry + ")"
			}
			checks = append(checks, eachContainer(check{
				bad: func(x string) string {
					return image(x) + " != '' && " + with(x, notBlocked+" && !"+allowed+".exists(e, "+underEntry+")")
				},
				same:  func(o, x string) string { return image(o) + " == " + image(x) },
				field: "image",
				problem: func(x string) string {
					return with(x, "'pulls image \"' + "+image(x)+" + '\" from ' + r[0] + ' (as ' + r[1] + '), which allowedRegistries does not list'")
				},
				fixOf: func(x string) string {
					return with(x, celString("mirror the image to an allowed registry ("+strings.Join(p.AllowedRegistries, ", ")+") and name it there, e.g. image: ")+" + "+suggest)
				},
			})...)
		}
		return form{checks: checks}
	})
}
