package check

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// JUnit XML as Jenkins, GitLab, Azure DevOps, CircleCI and the JUnit
// report actions read it: the Jenkins schema (junit-4.xsd of dtkit, kept
// in testdata/junit/), whose elements and attributes these types mirror.
// One testsuite per file read, one testcase per object judged, one
// failure per finding enforce mode would deny; the rest (warnings, what
// defaulting will fix, what an exemption lifts) goes to the testcase's
// system-out, which the schema allows and CI systems show beside it.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string         `xml:"name,attr"`
	Classname string         `xml:"classname,attr"`
	Failures  []junitFailure `xml:"failure"`
	SystemOut *junitText     `xml:"system-out"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// junitText is text kept readable in a CDATA section.
type junitText struct {
	Text string `xml:",cdata"`
}

// WriteJUnit prints the report as JUnit XML. A testcase is named
// `Kind namespace/name`, its classname is the file; each finding enforce
// mode would deny is a failure whose message is where it is
// (file:line:col) and the finding, which ends with its fix; its type is
// the rule. A testsuite's
// and the testsuites' failures count the failed testcases (objects), as
// CI systems expect, not the failure elements.
func (r *Report) WriteJUnit(w io.Writer) error {
	suites := junitSuites{Name: "plimsoll check"}
	byFile := map[string]int{}
	for _, f := range r.files {
		if _, ok := byFile[f]; !ok {
			byFile[f] = len(suites.Suites)
			suites.Suites = append(suites.Suites, junitSuite{Name: f, Cases: []junitCase{}})
		}
	}
	for _, ob := range r.objects {
		i, ok := byFile[ob.file]
		if !ok {
			i = len(suites.Suites)
			byFile[ob.file] = i
			suites.Suites = append(suites.Suites, junitSuite{Name: ob.file})
		}
		c := junitCase{Name: ob.kind + " " + namespacedName(ob.namespace, ob.name), Classname: ob.file}
		var out strings.Builder
		for _, res := range ob.results {
			where := position(res.File, res.Line, res.Column)
			switch {
			case res.Exemption != "":
				fmt.Fprintf(&out, "%s: exempt: %s (%s)\n", where, res.Message, res.Exemption)
			case res.Fixable:
				fmt.Fprintf(&out, "%s: defaulting will fix: %s\n", where, res.Message)
			case res.Severity == "error":
				msg := where + ": " + res.Message
				c.Failures = append(c.Failures, junitFailure{Message: msg, Type: res.Rule, Text: msg + "\n"})
			default:
				fmt.Fprintf(&out, "%s: warning: %s\n", where, res.Message)
			}
		}
		if out.Len() > 0 {
			c.SystemOut = &junitText{Text: out.String()}
		}
		s := &suites.Suites[i]
		s.Cases = append(s.Cases, c)
		s.Tests++
		suites.Tests++
		if len(c.Failures) > 0 {
			s.Failures++
			suites.Failures++
		}
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(suites); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
