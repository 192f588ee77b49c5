package gotoconnector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/gotoconnector/gotoconnector/internal/service/connect"
	"github.com/gotoconnector/gotoconnector/internal/service/refresh"
)

// emfMetricNames are the names the code's Embedded Metric Format lines
// declare in the connector's namespace: refresh.Metrics and connect.Metrics,
// which the refresh and connect tests check against the lines the real
// handlers write.
func emfMetricNames() map[string]bool {
	names := map[string]bool{}
	for _, list := range [][]map[string]string{refresh.Metrics, connect.Metrics} {
		for _, m := range list {
			names[m["Name"]] = true
		}
	}
	return names
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// metricProblems lists every alarm or dashboard metric of the template
// whose namespace is not AWS/... and is not the code's namespace, or whose
// name in that namespace is not one the code emits; and every ${...} of the
// dashboard that names neither a resource nor a pseudo parameter.
func metricProblems(t *testing.T, tmpl []byte) []string {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(tmpl, &doc); err != nil {
		t.Fatalf("template: %v", err)
	}
	root := doc.Content[0]
	if refresh.MetricsNamespace != connect.MetricsNamespace {
		t.Fatalf("two namespaces: %s, %s", refresh.MetricsNamespace, connect.MetricsNamespace)
	}
	emitted := emfMetricNames()
	var problems []string
	check := func(where, namespace, name string) {
		switch {
		case strings.HasPrefix(namespace, "AWS/"):
		case namespace != refresh.MetricsNamespace:
			problems = append(problems, fmt.Sprintf("%s: namespace %q is not the code's %q", where, namespace, refresh.MetricsNamespace))
		case !emitted[name]:
			problems = append(problems, fmt.Sprintf("%s: metric %s/%s is not one the code emits", where, namespace, name))
		}
	}
	resources := get(root, "Resources")
	dashboards := 0
	for _, id := range mapKeys(resources) {
		r := get(resources, id)
		switch value(get(r, "Type")) {
		case "AWS::CloudWatch::Alarm":
			p := get(r, "Properties")
			if get(p, "Metrics") != nil {
				problems = append(problems, id+": metric math alarms are not checked; extend metricProblems")
			}
			check(id, value(get(p, "Namespace")), value(get(p, "MetricName")))
		case "AWS::CloudWatch::Dashboard":
			dashboards++
			body := get(r, "Properties", "DashboardBody")
			if body == nil || body.Tag != "!Sub" || body.Kind != yaml.ScalarNode {
				problems = append(problems, id+": DashboardBody is not a !Sub string")
				continue
			}
			for _, m := range subVar.FindAllStringSubmatch(body.Value, -1) {
				if !strings.HasPrefix(m[1], "AWS::") && get(resources, m[1]) == nil {
					problems = append(problems, fmt.Sprintf("%s: ${%s} names no resource", id, m[1]))
				}
			}
			var dash struct {
				Widgets []struct {
					Type       string
					Properties struct {
						Title   string
						Query   string
						Metrics [][]any
					}
				}
			}
			if err := json.Unmarshal([]byte(subVar.ReplaceAllString(body.Value, "$1")), &dash); err != nil {
				problems = append(problems, fmt.Sprintf("%s: DashboardBody is not JSON: %v", id, err))
				continue
			}
			for _, w := range dash.Widgets {
				if w.Type == "metric" && len(w.Properties.Metrics) == 0 {
					problems = append(problems, fmt.Sprintf("%s: widget %q shows no metric", id, w.Properties.Title))
				}
				var prev []any
				for _, row := range w.Properties.Metrics {
					// A row is [namespace, name, dimension, value, ..., {options}];
					// "." repeats the previous row's element.
					full := make([]any, len(row))
					for i, v := range row {
						full[i] = v
						if v == "." && i < len(prev) {
							full[i] = prev[i]
						}
					}
					prev = full
					ns, _ := full[0].(string)
					name := ""
					if len(full) > 1 {
						name, _ = full[1].(string)
					}
					check(fmt.Sprintf("%s %q", id, w.Properties.Title), ns, name)
				}
			}
		}
	}
	if dashboards != 1 {
		problems = append(problems, fmt.Sprintf("%d dashboards, want 1", dashboards))
	}
	return problems
}

// Every metric the alarms and the dashboard read in the connector's
// namespace is one the code writes, and the dashboard names this stack's
// resources.
func TestDashboardAndAlarmMetricsAreEmitted(t *testing.T) {
	for _, p := range metricProblems(t, Template) {
		t.Error(p)
	}
	body := value(get(templateRoot(t), "Resources", "Dashboard", "Properties", "DashboardBody"))
	for _, want := range []string{"${RefreshFunction}", "${ConnectionsFunction}", "${AuthorizeFunction}", "${CallbackFunction}", "${ConnectionsTable}", "/aws/apigateway/${AWS::StackName}/access", refresh.MetricsNamespace} {
		if !strings.Contains(body, want) {
			t.Errorf("the dashboard does not show %s", want)
		}
	}
}

// The check finds a misspelt metric, in the dashboard and in an alarm.
func TestMetricCheckCatchesBogusNames(t *testing.T) {
	for _, c := range []struct{ from, to string }{
		{`"GoToConnector", "StoreFailures"`, `"GoToConnector", "StoreFailure"`},
		{"MetricName: ReauthRequired", "MetricName: ReauthNeeded"},
		{`"GoToConnector", "Requests"`, `"GoToConnecter", "Requests"`},
	} {
		bad := bytes.Replace(Template, []byte(c.from), []byte(c.to), 1)
		if bytes.Equal(bad, Template) {
			t.Fatalf("template.yaml has no %s", c.from)
		}
		if len(metricProblems(t, bad)) == 0 {
			t.Errorf("%s -> %s: no problem found", c.from, c.to)
		}
	}
}
