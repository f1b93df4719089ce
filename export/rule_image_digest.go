package export

// image-digest: every image is pinned by digest, as the webhook's
// pinnedByDigest reads it: what follows the first "@" is sha256: and 64
// lower-case hex digits. Off by default; exported where a policy turns it
// on.

// pinnedRE matches a whole image reference pinned by a sha256 digest.
const pinnedRE = `^[^@]*@sha256:[0-9a-f]{64}$`

// unpinned is CEL: the image img without its digest, and without the ":"
// of an empty tag, as the webhook's message writes it (name:tag).
func unpinned(img string) string {
	return "[" + img + ".split('@')[0]].map(n, n.endsWith(':') && n.lastIndexOf(':') > n.lastIndexOf('/') ? n.substring(0, n.size() - 1) : n)[0]"
}

func init() {
	register("image-digest", form{checks: eachContainer(check{
		bad: func(x string) string {
			img := image(x)
			return img + " != '' && !" + img + ".matches(" + celString(pinnedRE) + ")"
		},
		same:  func(o, x string) string { return image(o) + " == " + image(x) },
		field: "image",
		problem: func(x string) string {
			return "'uses image \"' + " + image(x) + " + '\", which is not pinned by digest, so the registry decides what runs'"
		},
		fixOf: func(x string) string {
			ref := unpinned(image(x))
			return "'pin it: image: ' + " + ref + " + '@sha256:<digest> (crane digest ' + " + ref + " + ' prints it)'"
		},
	})})
}
