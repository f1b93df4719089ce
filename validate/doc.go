// Package validate holds plimsoll's rules: one rule per file, named
// rule_<id>.go, each a pure function of a workload's pod template that says
// which containers and fields break a best practice. Registry lists them
// all explicitly, in ID order.
//
// A rule is one file plus what holds it to account: its fixtures under
// testdata/<id>/{pass,fail}/ and its own rule_<id>_test.go, which states
// the containers it must and must not visit and the messages it gives.
//
// Evaluate runs the rules over a template twice — as written and as
// defaulting will leave it — so that what defaulting fixes is reported as
// fixable ("will be defaulted"), never as a reason to deny. That is the
// consistency invariant: a workload that is admitted never has its Pods
// rejected later, out of its owner's sight.
package validate
