package audit

// The background audit's PolicyReport writer: one report per audited
// namespace (what a report says is policyreport.go), created, updated
// only when what it says changed, deleted when its namespace leaves the
// scope, and adopted after a restart. While the PolicyReport CRD is not
// installed it says so once and retries later; metrics work meanwhile.

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// adoptReports learns which namespaces already hold a plimsoll report
// (from before a restart), so that those now out of scope are cleaned up.
func (b *Background) adoptReports(ctx context.Context) {
	if !b.o.Reports {
		return
	}
	ri := b.dyn.Resource(PolicyReportGVR).Namespace(b.o.Namespace)
	l, err := ri.List(ctx, metav1.ListOptions{LabelSelector: ManagedByLabel + "=" + managedBy})
	if err != nil {
		b.noteReportsError(err)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, item := range l.Items {
		if item.GetName() == ReportName {
			b.published[item.GetNamespace()] = true
		}
	}
}

// writeReport creates or updates the namespace's PolicyReport when what
// it says changed.
func (b *Background) writeReport(ctx context.Context, ns string, objs []judged) error {
	want, err := newPolicyReport(ns, objs, b.cats)
	if err != nil {
		return err
	}
	memo := reportMemo(want)
	b.mu.Lock()
	unchanged := b.written[ns] == memo
	b.mu.Unlock()
	if unchanged {
		return nil
	}
	ri := b.dyn.Resource(PolicyReportGVR).Namespace(ns)
	have, err := ri.Get(ctx, ReportName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = ri.Create(ctx, want, metav1.CreateOptions{FieldManager: "plimsoll-audit"})
		b.count("create", err)
		if err != nil {
			if b.noteReportsError(err) {
				b.queue.AddAfter(ns, time.Minute)
				return nil
			}
			return fmt.Errorf("creating PolicyReport %s/%s: %w", ns, ReportName, err)
		}
	case err != nil:
		if b.noteReportsError(err) {
			b.queue.AddAfter(ns, time.Minute)
			return nil
		}
		return fmt.Errorf("reading PolicyReport %s/%s: %w", ns, ReportName, err)
	case have.GetLabels()[ManagedByLabel] != managedBy:
		b.log.Warn("a PolicyReport named plimsoll that plimsoll does not manage is in the way; leaving it alone", "namespace", ns)
		return nil
	case sameReport(have, want):
	default:
		want.SetResourceVersion(have.GetResourceVersion())
		_, err = ri.Update(ctx, want, metav1.UpdateOptions{FieldManager: "plimsoll-audit"})
		b.count("update", err)
		if err != nil {
			return fmt.Errorf("updating PolicyReport %s/%s: %w", ns, ReportName, err)
		}
	}
	b.mu.Lock()
	b.published[ns] = true
	b.written[ns] = memo
	b.reportsMissing = false
	b.mu.Unlock()
	return nil
}

// deleteReport removes the report of a namespace that left the scope.
func (b *Background) deleteReport(ctx context.Context, ns string) error {
	err := b.dyn.Resource(PolicyReportGVR).Namespace(ns).Delete(ctx, ReportName, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		err = nil
	}
	b.count("delete", err)
	if err != nil {
		return fmt.Errorf("deleting PolicyReport %s/%s: %w", ns, ReportName, err)
	}
	b.mu.Lock()
	delete(b.published, ns)
	delete(b.written, ns)
	b.mu.Unlock()
	return nil
}

func (b *Background) count(op string, err error) {
	result := "success"
	if err != nil {
		result = "failure"
	}
	b.metrics.writes.WithLabelValues(op, result).Inc()
}

// noteReportsError reports whether err says that the PolicyReport API is
// not served (its CRD is not installed); it logs that once.
func (b *Background) noteReportsError(err error) bool {
	if !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err) {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.reportsMissing {
		b.reportsMissing = true
		b.log.Warn("the PolicyReport API (wgpolicyk8s.io/v1alpha2) is not served: install its CRD to get reports; metrics work meanwhile", "error", err.Error())
	}
	return true
}
