package check_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/plimsoll/plimsoll/check"
)

// Go has no XML Schema validator, so the JUnit output is checked
// structurally against the Jenkins JUnit XSD kept in testdata (see
// testdata/schemas/README.md): the XSD is read into the types below, which
// mirror the few XSD constructs it uses (global elements of type
// xs:string or with a complexType: mixed content, a sequence of element
// refs with minOccurs/maxOccurs, attributes with use="required"), and the
// output is walked against it: every element is one the XSD declares,
// its children come in the order and number its sequence allows, every
// attribute is declared and every required one is present, and text
// appears only where the content is mixed or a string. An XSD construct
// beyond these fails the test rather than being skipped.

type xsdSchema struct {
	Elements []xsdElement `xml:"element"`
	Other    []xsdAny     `xml:",any"`
}

type xsdElement struct {
	Name    string          `xml:"name,attr"`
	Type    string          `xml:"type,attr"`
	Complex *xsdComplexType `xml:"complexType"`
	Other   []xsdAny        `xml:",any"`
}

type xsdComplexType struct {
	Mixed    bool `xml:"mixed,attr"`
	Sequence *struct {
		Elements []xsdParticle `xml:"element"`
		Other    []xsdAny      `xml:",any"`
	} `xml:"sequence"`
	Attributes []struct {
		Name string `xml:"name,attr"`
		Use  string `xml:"use,attr"`
	} `xml:"attribute"`
	Other []xsdAny `xml:",any"`
}

type xsdParticle struct {
	Ref       string `xml:"ref,attr"`
	MinOccurs string `xml:"minOccurs,attr"`
	MaxOccurs string `xml:"maxOccurs,attr"`
}

type xsdAny struct {
	XMLName xml.Name
}

// xmlNode is any element of the document being checked.
type xmlNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []xmlNode  `xml:",any"`
	Text     string     `xml:",chardata"`
}

func loadXSD(t *testing.T, path string) map[string]xsdElement {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s xsdSchema
	if err := xml.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	unsupported := func(where string, other []xsdAny) {
		for _, o := range other {
			t.Fatalf("%s: the XSD uses <%s>, which this check does not interpret", where, o.XMLName.Local)
		}
	}
	unsupported("schema", s.Other)
	decls := map[string]xsdElement{}
	for _, e := range s.Elements {
		unsupported(e.Name, e.Other)
		switch {
		case e.Complex != nil:
			unsupported(e.Name, e.Complex.Other)
			if e.Complex.Sequence != nil {
				unsupported(e.Name+" sequence", e.Complex.Sequence.Other)
			}
		case e.Type != "xs:string":
			t.Fatalf("element %s has type %q, which this check does not interpret", e.Name, e.Type)
		}
		decls[e.Name] = e
	}
	return decls
}

// validateXSD returns what in n breaks the XSD's declarations.
func validateXSD(decls map[string]xsdElement, n xmlNode, where string) []string {
	where += "/" + n.XMLName.Local
	decl, ok := decls[n.XMLName.Local]
	if !ok {
		return []string{where + ": not an element the XSD declares"}
	}
	var errs []string
	if decl.Complex == nil { // xs:string
		if len(n.Attrs) > 0 || len(n.Children) > 0 {
			errs = append(errs, where+": a string element with attributes or elements")
		}
		return errs
	}
	declared := map[string]bool{}
	for _, a := range decl.Complex.Attributes {
		declared[a.Name] = true
		if a.Use == "required" && !slicesContainsAttr(n.Attrs, a.Name) {
			errs = append(errs, fmt.Sprintf("%s: lacks the required attribute %s", where, a.Name))
		}
	}
	for _, a := range n.Attrs {
		if !declared[a.Name.Local] {
			errs = append(errs, fmt.Sprintf("%s: attribute %s is not declared", where, a.Name.Local))
		}
	}
	if !decl.Complex.Mixed && strings.TrimSpace(n.Text) != "" {
		errs = append(errs, where+": text in an element whose content is not mixed")
	}
	i := 0
	if seq := decl.Complex.Sequence; seq != nil {
		for _, p := range seq.Elements {
			min, max := occurs(p.MinOccurs, 1), occurs(p.MaxOccurs, 1)
			count := 0
			for i < len(n.Children) && n.Children[i].XMLName.Local == p.Ref && (max < 0 || count < max) {
				i++
				count++
			}
			if count < min {
				errs = append(errs, fmt.Sprintf("%s: %d <%s>, want at least %d", where, count, p.Ref, min))
			}
		}
	}
	for _, c := range n.Children[i:] {
		errs = append(errs, fmt.Sprintf("%s: <%s> is not allowed here (unknown, out of order or too many)", where, c.XMLName.Local))
	}
	for _, c := range n.Children {
		errs = append(errs, validateXSD(decls, c, where)...)
	}
	return errs
}

// occurs reads minOccurs or maxOccurs: -1 for unbounded.
func occurs(s string, def int) int {
	switch s {
	case "":
		return def
	case "unbounded":
		return -1
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

func slicesContainsAttr(attrs []xml.Attr, name string) bool {
	for _, a := range attrs {
		if a.Name.Local == name {
			return true
		}
	}
	return false
}

func writeJUnit(t *testing.T, r *check.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestJUnitFollowsTheJenkinsSchema(t *testing.T) {
	decls := loadXSD(t, "testdata/schemas/jenkins-junit.xsd")
	tests := []struct {
		name  string
		paths []string
		stdin string
	}{
		{"files with errors, warnings and fixable findings", []string{"testdata/multi.yaml", "testdata/positions", "testdata/list.json"}, ""},
		{"clean files", []string{"testdata/dir"}, ""},
		{"a file with no object plimsoll judges", []string{"-"}, "apiVersion: v1\nkind: Service\nmetadata: {name: c}\n"},
		{"a message with characters XML escapes", []string{"-"}, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: \"a<b>&]]>c\"}]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := run(t, "enforce", tt.stdin, tt.paths...)
			if err != nil {
				t.Fatal(err)
			}
			out := writeJUnit(t, r)
			var root xmlNode
			if err := xml.Unmarshal(out, &root); err != nil {
				t.Fatalf("not XML: %v\n%s", err, out)
			}
			if root.XMLName.Local != "testsuites" {
				t.Errorf("root element %s, want testsuites", root.XMLName.Local)
			}
			for _, e := range validateXSD(decls, root, "") {
				t.Error(e)
			}
		})
	}
	t.Run("the check catches what the XSD refuses", func(t *testing.T) {
		bad := `<testsuites><testsuite tests="1"><testcase name="x"><system-out>a</system-out><failure message="m"/></testcase><bogus/></testsuite></testsuites>`
		var root xmlNode
		if err := xml.Unmarshal([]byte(bad), &root); err != nil {
			t.Fatal(err)
		}
		want := []string{
			"/testsuites/testsuite: lacks the required attribute name",
			"/testsuites/testsuite: <bogus> is not allowed here (unknown, out of order or too many)",
			"/testsuites/testsuite/testcase: <failure> is not allowed here (unknown, out of order or too many)",
			"/testsuites/testsuite/bogus: not an element the XSD declares",
		}
		if diff := cmp.Diff(want, validateXSD(decls, root, "")); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
	})
}

// junitReport mirrors what the tests read of the JUnit output.
type junitReport struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Name     string `xml:"name,attr"`
			Failures []struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnitHasASuitePerFileACasePerObjectAFailurePerDenial(t *testing.T) {
	r, err := run(t, "enforce", "", "testdata/positions/multi.yaml", "testdata/dir/clean.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got junitReport
	if err := xml.Unmarshal(writeJUnit(t, r), &got); err != nil {
		t.Fatal(err)
	}
	type suite struct {
		Name            string
		Tests, Failures int
		Cases           []string
	}
	var suites []suite
	for _, s := range got.Suites {
		su := suite{Name: s.Name, Tests: s.Tests, Failures: s.Failures}
		for _, c := range s.Cases {
			su.Cases = append(su.Cases, fmt.Sprintf("%s: %d failures", c.Name, len(c.Failures)))
		}
		suites = append(suites, su)
	}
	want := []suite{
		{"testdata/positions/multi.yaml", 2, 1, []string{"Pod first: 0 failures", "Deployment shop/web: 2 failures"}},
		{"testdata/dir/clean.yaml", 1, 0, []string{"Job migrate: 0 failures"}},
	}
	if diff := cmp.Diff(want, suites); diff != "" {
		t.Errorf("suites (-want +got):\n%s", diff)
	}
	if got.Tests != 3 || got.Failures != 1 {
		t.Errorf("testsuites tests=%d failures=%d, want 3 and 1 (failed objects)", got.Tests, got.Failures)
	}
	web := got.Suites[0].Cases[1]
	f := web.Failures[0]
	if f.Type != "image-tag" || !strings.HasPrefix(f.Message, "testdata/positions/multi.yaml:28:9: [image-tag] Deployment \"web\"") || !strings.Contains(f.Text, "pin a version") {
		t.Errorf("failure = %+v, want the image-tag finding with its file:line and its fix", f)
	}
	for _, want := range []string{
		"testdata/positions/multi.yaml:27:9: warning: [liveness-probe]",
		"testdata/positions/multi.yaml:21:1: warning: [replicas]",
		"testdata/positions/multi.yaml:27:9: defaulting will fix: [cpu-limits]",
	} {
		if !strings.Contains(web.SystemOut, want) {
			t.Errorf("system-out lacks %q:\n%s", want, web.SystemOut)
		}
	}
}
