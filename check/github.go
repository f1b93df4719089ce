package check

import (
	"fmt"
	"io"
	"strings"
)

// WriteGitHub prints one GitHub Actions workflow command per finding,
// which the runner turns into an annotation on the file and line:
//
//	::error file=deploy.yaml,line=12,col=9,title=[image-tag]::[image-tag] Deployment "web": ...
//
// error for what enforce mode would deny, warning for warnings, notice
// for what defaulting will fix or an exemption lifts. Values are escaped
// as the runner unescapes them: %, CR and LF everywhere, and also "," and
// ":" in the properties.
func (r *Report) WriteGitHub(w io.Writer) error {
	for _, res := range r.Results {
		command := "warning"
		switch {
		case res.Fixable || res.Exemption != "":
			command = "notice"
		case res.Severity == "error":
			command = "error"
		}
		msg := res.Message
		if res.Exemption != "" {
			msg += " (exempt: " + res.Exemption + ")"
		}
		if _, err := fmt.Fprintf(w, "::%s file=%s,line=%d,col=%d,title=%s::%s\n", command,
			escapeProperty(res.File), res.Line, res.Column, escapeProperty("["+res.Rule+"]"), escapeData(msg)); err != nil {
			return err
		}
	}
	return nil
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// escapeData escapes a workflow command's message.
func escapeData(s string) string { return dataEscaper.Replace(s) }

// escapeProperty escapes a workflow command's property value.
func escapeProperty(s string) string { return propertyEscaper.Replace(s) }
