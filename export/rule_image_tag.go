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
		fix: "pin a version: image: <name>:<version> or <name>@sha256:<digest>",
	})})
}
