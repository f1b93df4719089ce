package export

// image-tag: images are pinned to a version tag or a digest, never latest
// or untagged. As imageref.Parse reads a reference: the digest follows the
// first "@"; the tag follows the last ":" of the name, if no "/" comes
// after it.

// image is CEL: container x's image, "" when it names none.
func image(x string) string { return x + ".?image.orValue('')" }

// Regular expressions on a whole image reference.
const (
	digestRE = `^[^@]*@.+$`            // a digest
	taggedRE = `^[^@]*:[^:/@]+(@.*)?$` // a tag
	latestRE = `^[^@]*:latest(@.*)?$`  // the tag latest
)

// imageName is CEL: image img without its tag and digest, as
// imageref.Parse reads its name.
func imageName(img string) string {
	return "[" + img + ".split('@')[0]].map(n, n.lastIndexOf(':') > n.lastIndexOf('/') ? n.substring(0, n.lastIndexOf(':')) : n)[0]"
}

func init() {
	register("image-tag", form{checks: eachContainer(check{
		bad: func(x string) string {
			img := image(x)
			return "!(" + img + ".matches(" + celString(digestRE) + ") || (" + img + ".matches(" + celString(taggedRE) + ") && !" + img + ".matches(" + celString(latestRE) + ")))"
		},
		same:  func(o, x string) string { return image(o) + " == " + image(x) },
		field: "image",
		problem: func(x string) string {
			img := image(x)
			return "(" + img + " == '' ? 'names no image' : (" + img + ".matches(" + celString(latestRE) + ") ? 'uses image \"' + " + img + " + '\", whose latest tag moves' : 'uses image \"' + " + img + " + '\", which has no tag'))"
		},
		fixOf: func(x string) string {
			name := "(" + image(x) + " == '' ? 'IMAGE' : " + imageName(image(x)) + ")"
			return "'pin a version: image: ' + " + name + " + ':<version> or ' + " + name + " + '@sha256:<digest>'"
		},
	})})
}
